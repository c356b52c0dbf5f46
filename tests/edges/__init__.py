"""Tests of the edges that touch files and sockets: the network prober against live endpoints,
catalog files on disk, the command line."""
