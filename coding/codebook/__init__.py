"""The codebook: model (model), YAML (yamlfile), REFI-QDA .qdc (qdc), either by extension (files), and a
project's stored codebook with its audit log (stored)."""
