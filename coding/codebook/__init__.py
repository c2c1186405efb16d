"""The codebook: model (codes, GUIDs), yamlfile (YAML), qdc (REFI-QDA .qdc), files (either, by extension), and
stored (a project's codebook in the database, with its audit log).
"""
