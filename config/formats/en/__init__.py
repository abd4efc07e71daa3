"""English formats for FORMAT_MODULE_PATH (config.formats)."""
