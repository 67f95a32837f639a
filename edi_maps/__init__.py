"""X12 reader and writer, envelopes and mappings. Built in a later issue."""
