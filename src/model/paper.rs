//! The eleven architectures of Pons & Serra (ICASSP 2017) Table 1, as
//! [`ArchConfig`]s, for tests, benchmarks and the training code.
//! Shapes follow `docs/reference-protocol.md` §Models and §Baselines.

use super::arch::{ArchConfig, BankAxis, BankConfig, FilterGroup, Init, PoolExtent};

/// Mel bands of every input (paper §3: 40 bands).
pub const BANDS: usize = 40;
/// Frames of the paper models' input chunk (paper §3: N = 250).
pub const PAPER_FRAMES: usize = 250;
/// Frames of the CBMI 2016 baselines' input chunk (N = 80).
pub const BASELINE_FRAMES: usize = 80;
/// Ballroom classes (the three Rumba folders form one class).
pub const CLASSES: usize = 8;
/// Dropout before the output layer (paper §3 and the baselines).
pub const DROPOUT: f64 = 0.5;
/// Frequency max-pool of the O and P banks (paper §2: 4 bands).
pub const PAPER_POOL_BANDS: usize = 4;
/// Hidden dense layer of the Time-freq and Black-box baselines.
pub const BASELINE_HIDDEN: usize = 200;
/// Filters of each baseline branch.
pub const BASELINE_FILTERS: usize = 32;
/// Width of the baselines' temporal filters (1×60).
pub const BASELINE_TIME_WIDTH: usize = 60;
/// Height of the Time-freq baseline's frequency filters (32×1).
pub const BASELINE_FREQ_HEIGHT: usize = 32;
/// Black-box filter shape (12 bands × 8 frames).
pub const BLACK_BOX_FILTER: (usize, usize) = (12, 8);

/// O bank widths n ∈ {6, 11, …, 41}: 8 lengths, 5 filters each.
pub const O_WIDTHS: std::ops::RangeInclusive<usize> = 6..=41;
/// O bank filters per width in the 1× O-net.
pub const O_FILTERS_PER_WIDTH: usize = 5;
/// P bank widths n = 46 + 5f, f = 0…34: 35 lengths, 1 filter each.
pub const P_WIDTHS: std::ops::RangeInclusive<usize> = 46..=216;
/// Step between consecutive widths of the O and P banks.
pub const WIDTH_STEP: usize = 5;

fn temporal_bank(name: &str, widths: std::ops::RangeInclusive<usize>, count: usize) -> BankConfig {
    BankConfig {
        name: name.into(),
        axis: BankAxis::Time,
        groups: widths
            .step_by(WIDTH_STEP)
            .map(|width| FilterGroup {
                height: 1,
                width,
                count,
            })
            .collect(),
        pool_freq: PoolExtent::Factor(PAPER_POOL_BANDS),
        pool_time: PoolExtent::All,
    }
}

/// The O bank with `k` times the 1× filters per width.
pub fn o_bank(k: usize) -> BankConfig {
    temporal_bank("O", O_WIDTHS, O_FILTERS_PER_WIDTH * k)
}

/// The P bank with `k` filters per width.
pub fn p_bank(k: usize) -> BankConfig {
    temporal_bank("P", P_WIDTHS, k)
}

fn paper_net(banks: Vec<BankConfig>) -> ArchConfig {
    ArchConfig {
        bands: BANDS,
        frames: PAPER_FRAMES,
        banks,
        hidden: vec![],
        dropout: DROPOUT,
        classes: CLASSES,
        init: Init::HeUniform,
    }
}

/// "k× O-net" (k = 1: O-net, 4,188 parameters).
pub fn o_net(k: usize) -> ArchConfig {
    paper_net(vec![o_bank(k)])
}

/// "k× P-net" (k = 1: P-net, 7,428 parameters).
pub fn p_net(k: usize) -> ArchConfig {
    paper_net(vec![p_bank(k)])
}

/// "k× O-net + k× P-net" (k = 1: 11,608 parameters).
pub fn o_p_net(k: usize) -> ArchConfig {
    paper_net(vec![o_bank(k), p_bank(k)])
}

/// The CBMI time branch: 32 filters 1×60 pooled over all bands, per frame.
fn time_branch() -> BankConfig {
    BankConfig {
        name: "time".into(),
        axis: BankAxis::Time,
        groups: vec![FilterGroup {
            height: 1,
            width: BASELINE_TIME_WIDTH,
            count: BASELINE_FILTERS,
        }],
        pool_freq: PoolExtent::All,
        pool_time: PoolExtent::Factor(1),
    }
}

fn baseline(banks: Vec<BankConfig>, hidden: Vec<usize>) -> ArchConfig {
    ArchConfig {
        bands: BANDS,
        frames: BASELINE_FRAMES,
        banks,
        hidden,
        dropout: DROPOUT,
        classes: CLASSES,
        init: Init::GlorotUniform,
    }
}

/// CBMI 2016 "Time": 32 × (1×60), max-pool 40×1, dense softmax (7,336 parameters).
pub fn time_baseline() -> ArchConfig {
    baseline(vec![time_branch()], vec![])
}

/// CBMI 2016 "Time-freq": the time branch and 32 × (32×1) filters pooled 1×80,
/// dense 200 ReLU, dropout, dense softmax (196,816 parameters).
pub fn time_freq_baseline() -> ArchConfig {
    let freq = BankConfig {
        name: "freq".into(),
        axis: BankAxis::Freq,
        groups: vec![FilterGroup {
            height: BASELINE_FREQ_HEIGHT,
            width: 1,
            count: BASELINE_FILTERS,
        }],
        pool_freq: PoolExtent::Factor(1),
        pool_time: PoolExtent::All,
    };
    baseline(vec![time_branch(), freq], vec![BASELINE_HIDDEN])
}

/// CBMI 2016 "Black-box": 32 × (12×8), max-pool 4×1, dense 200 ReLU,
/// dropout, dense softmax (3,275,312 parameters).
pub fn black_box_baseline() -> ArchConfig {
    let bank = BankConfig {
        name: "2d".into(),
        axis: BankAxis::TwoD,
        groups: vec![FilterGroup {
            height: BLACK_BOX_FILTER.0,
            width: BLACK_BOX_FILTER.1,
            count: BASELINE_FILTERS,
        }],
        pool_freq: PoolExtent::Factor(PAPER_POOL_BANDS),
        pool_time: PoolExtent::Factor(1),
    };
    baseline(vec![bank], vec![BASELINE_HIDDEN])
}

/// Table 1's rows in the paper's order, with their names.
pub fn table1() -> Vec<(&'static str, ArchConfig)> {
    vec![
        ("O-net", o_net(1)),
        ("P-net", p_net(1)),
        ("2x O-net", o_net(2)),
        ("O-net + P-net", o_p_net(1)),
        ("2x P-net", p_net(2)),
        ("2x O-net + 2x P-net", o_p_net(2)),
        ("4x O-net + 4x P-net", o_p_net(4)),
        ("8x O-net + 8x P-net", o_p_net(8)),
        ("Time", time_baseline()),
        ("Time-freq", time_freq_baseline()),
        ("Black-box", black_box_baseline()),
    ]
}
