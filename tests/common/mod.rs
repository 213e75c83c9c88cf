//! What several integration tests share: the paper's numbers they check against.

/// Table 1's rows and the CBMI 2016 baselines with the paper's parameter
/// counts (Table 1 and reference-protocol.md), in the paper's order.
pub const TABLE1_PARAMS: [(&str, usize); 11] = [
    ("O-net", 4_188),
    ("P-net", 7_428),
    ("2x O-net", 8_368),
    ("O-net + P-net", 11_608),
    ("2x P-net", 14_848),
    ("2x O-net + 2x P-net", 23_208),
    ("4x O-net + 4x P-net", 46_408),
    ("8x O-net + 8x P-net", 92_808),
    ("Time", 7_336),
    ("Time-freq", 196_816),
    ("Black-box", 3_275_312),
];
