"""cnnviz: the engine behind the visualizer. numpy in, numpy out, PyTorch semantics."""
