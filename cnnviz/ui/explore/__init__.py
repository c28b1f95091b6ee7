"""The Explore page's sections: a trained net explored (what each layer sees, why it decided,
what a filter wants, reusing it on new classes)."""
