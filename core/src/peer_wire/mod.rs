//! The BEP 3 peer wire protocol: handshake, messages and their codec. (being written)
