"""numpy -> pixels, one home: colour maps and ranges (`colormaps`), PNG bytes, palette maps,
tiles and upscaling (`png`), slides with a title and colour key (`slides`), a walk's cells
(`cells`) and its PNG/GIF frames (`frames`). Pure numpy and Pillow, no streamlit."""
