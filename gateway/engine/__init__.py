"""The merge and cursor engine: pure functions and plain data, no I/O.

A *stream* is one sorted upstream list (one source, maybe one slice of it). Positions in a
stream are *gaps* between entries, described by the nearest *anchors* (places a single
upstream request can start reading from) and how many entries lie between. Sources turn
anchors into upstream requests; this package never looks inside an anchor.
"""
