"""The Train page's streamlit glue: the session that owns a training (session), the settings
form (settings), the buttons (controls), the live views (live, inside, charts), the results on
the test split (results) and the model files (model_files, opened)."""
