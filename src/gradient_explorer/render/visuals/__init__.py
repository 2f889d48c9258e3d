"""render/visuals layer."""
