//! BEP 3 metainfo (`.torrent`) encode, decode and one-pass generation. (being written)
