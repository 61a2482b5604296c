"""Strict reading of input files: YAML 1.2 with line numbers and duplicate keys refused, where an
entry came from (file, document, line), and validation messages a person editing the file can act
on. Every file format (org files, playbooks, instruments, signal CSV) reads through here."""
