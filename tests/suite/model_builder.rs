//! Acceptance tests of the model builder: Table 1's parameter counts, output
//! shapes of every paper model, and fused vs generic banks through a whole net.

use burn::backend::{ndarray::NdArray, Autodiff};
use burn::tensor::{Distribution, Tensor};
use tempora::model::{paper, FilterBankNet};

use crate::common::TABLE1_PARAMS;

type Cpu = NdArray<f32>;

#[test]
fn table1_parameter_counts_match_the_paper() {
    let device = Default::default();
    let table = paper::table1();
    assert_eq!(table.len(), TABLE1_PARAMS.len());
    for ((name, arch), (expected_name, expected)) in table.iter().zip(TABLE1_PARAMS) {
        assert_eq!(*name, expected_name);
        assert_eq!(
            arch.param_count(),
            expected,
            "{name}: ArchConfig::param_count"
        );
        let net = FilterBankNet::<Cpu>::init(arch, 1, &device).expect("paper models build");
        assert_eq!(
            net.param_count(),
            expected,
            "{name}: FilterBankNet::param_count"
        );
    }
}

#[test]
fn every_paper_model_outputs_one_logit_per_class() {
    let device = Default::default();
    for (name, arch) in paper::table1() {
        let net = FilterBankNet::<Cpu>::init(&arch, 2, &device).expect("paper models build");
        let x =
            Tensor::<Cpu, 3>::random([3, arch.bands, arch.frames], Distribution::Default, &device);
        assert_eq!(net.forward(x).dims(), [3, arch.classes], "{name}");
    }
}

#[test]
fn fused_and_generic_banks_agree_through_the_whole_net() {
    type Ad = Autodiff<Cpu>;
    let device = Default::default();
    for mut arch in [paper::o_p_net(1), paper::time_freq_baseline()] {
        arch.dropout = 0.0; // dropout is active on Autodiff and would draw different masks
        let fused = FilterBankNet::<Ad>::init(&arch, 3, &device).expect("builds");
        let generic = FilterBankNet::<Ad>::init(&arch, 3, &device)
            .expect("builds")
            .with_generic_banks();
        let x = Tensor::<Ad, 3>::random(
            [4, arch.bands, arch.frames],
            Distribution::Uniform(-2.0, 2.0),
            &device,
        );
        let (yf, yg) = (fused.forward(x.clone()), generic.forward(x));
        let diff = (yf.clone() - yg.clone()).abs().max().into_scalar();
        assert!(diff < 1e-5, "logits differ by {diff}");
        let (gf, gg) = (yf.sum().backward(), yg.sum().backward());
        for (bf, bg) in fused.banks.iter().zip(&generic.banks) {
            for (f, g) in bf.groups.iter().zip(&bg.groups) {
                let dw = (f.weight.grad(&gf).expect("tracked")
                    - g.weight.grad(&gg).expect("tracked"))
                .abs()
                .max()
                .into_scalar();
                let db = (f.bias.grad(&gf).expect("tracked") - g.bias.grad(&gg).expect("tracked"))
                    .abs()
                    .max()
                    .into_scalar();
                assert!(dw < 1e-4 && db < 1e-4, "bank gradients differ: {dw} {db}");
            }
        }
    }
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let device = Default::default();
    let arch = paper::o_net(1);
    let w = |seed| {
        let net = FilterBankNet::<Cpu>::init(&arch, seed, &device).expect("builds");
        net.banks[0].groups[0].weight.val().into_data()
    };
    assert_eq!(w(5), w(5));
    assert_ne!(w(5), w(6));
}

#[test]
fn invalid_architectures_are_errors_not_panics() {
    let device = Default::default();
    let mut arch = paper::p_net(1);
    arch.frames = 100; // P filters are up to 216 frames long
    let err = FilterBankNet::<Cpu>::init(&arch, 1, &device).unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
}
