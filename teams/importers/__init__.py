"""Importers: each reads one file format into an ImportBundle; ``apply`` writes a bundle."""
