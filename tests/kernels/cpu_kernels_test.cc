// The hand-written fast CPU kernels against the reference kernels on seeded random cases.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernel_test_util.h"

namespace ep::testing {
namespace {

// Runs the node with both backends; a declined fast case must be a deliberate `unsupported`.
void compare_backends(NodeUnderTest& t, const std::vector<const Tensor*>& ins, uint32_t seed, bool expect_fast = true) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto want = kernels::evaluate_node(*t.node, ins, "ref");
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  auto got = kernels::evaluate_node(*t.node, ins, "cpu");
  if (!expect_fast) {
    ASSERT_FALSE(got.is_ok());
    EXPECT_EQ(got.status().code(), StatusCode::unsupported);
    return;
  }
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_EQ(got.value().size(), want.value().size());
  expect_close(got.value()[0], want.value()[0], 1e-6, 1e-6);
}

TEST(CpuKernels, BinaryBroadcastPatterns) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {1}},       {{1}, {2, 3, 4, 5}},    {{1, 8, 8, 16}, {1, 1, 1, 16}},
      {{1, 16, 8, 8}, {1, 16, 1, 1}}, {{4, 1, 6}, {1, 5, 1}}, {{3, 1, 5, 1, 2}, {1, 4, 1, 6, 1}}, {{}, {}},
      {{7}, {3, 1}},                 {{0, 3}, {1, 3}},        {{2, 1, 3}, {2, 4, 3}},
      // Blocked activations [N, C/8, H, W, 8] against a per-channel vector, either side, and
      // 16-wide blocks: the short-run path.
      {{1, 3, 5, 7, 8}, {1, 3, 1, 1, 8}}, {{1, 3, 1, 1, 8}, {1, 3, 5, 7, 8}}, {{2, 2, 9, 16}, {2, 2, 1, 16}}};
  const char* ops[] = {"Add", "Sub", "Mul", "Div"};
  uint32_t seed = 1;
  for (const auto& [sa, sb] : shapes)
    for (const char* op : ops) {
      NodeUnderTest t(op, 2);
      const Tensor a = random_tensor(sa, seed++, 0.5f, 2.f), b = random_tensor(sb, seed++, 0.5f, 2.f);
      // Five-dim alternating broadcasts do not collapse to four dims: the fast kernel declines.
      compare_backends(t, {&a, &b}, seed, sa.rank() != 5 || sa[4] == sb[4]);
    }
}

// edgepipe.ScaleAdd is its own reference: against Mul then Add on the blocked short-run path.
TEST(CpuKernels, ScaleAddOnBlockedRows) {
  uint32_t seed = 50;
  for (const auto& [sx, ss] : std::vector<std::pair<Shape, Shape>>{{{1, 3, 5, 7, 8}, {1, 3, 1, 1, 8}},
                                                                  {{2, 2, 9, 12}, {2, 2, 1, 12}}}) {
    const Tensor x = random_tensor(sx, seed++, -2.f, 2.f), sc = random_tensor(ss, seed++, 0.f, 1.f);
    NodeUnderTest mul("Mul", 2), add("Add", 2), fused("ScaleAdd", 2);
    fused.node->domain = "edgepipe";
    fused.node->opset = 1;
    const std::vector<const Tensor*> xs = {&x, &sc};
    auto prod = kernels::evaluate_node(*mul.node, xs, "ref");
    ASSERT_TRUE(prod.is_ok());
    const std::vector<const Tensor*> xp = {&x, &prod.value()[0]};
    auto want = kernels::evaluate_node(*add.node, xp, "ref");
    auto got = kernels::evaluate_node(*fused.node, xs, "ref");
    ASSERT_TRUE(want.is_ok() && got.is_ok()) << got.status().to_string();
    expect_close(got.value()[0], want.value()[0], 0, 0);
  }
}

TEST(CpuKernels, UnaryActivations) {
  uint32_t seed = 100;
  // 300000 floats (1.2 MB) are split across the threads when two are set.
  for (int threads : {1, 2})
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"}) {
      omp_set_num_threads(threads);
      for (const Shape& s : {Shape{1, 3, 17, 19}, Shape{70000}, Shape{300000}, Shape{}}) {
        NodeUnderTest t(op, 1, 1, 17);
        if (std::string(op) == "HardSigmoid") t.attr("alpha", 0.3f).attr("beta", 0.4f);
        const Tensor x = random_tensor(s, seed++, -8.f, 8.f);
        compare_backends(t, {&x}, seed);
      }
    }
  omp_set_num_threads(1);
  // Sigmoid and Tanh run on a polynomial exp: check the far ends and the clamps too.
  for (const char* op : {"Sigmoid", "Tanh"}) {
    NodeUnderTest t(op, 1, 1, 17);
    const Tensor wide = random_tensor(Shape{4096}, seed++, -120.f, 120.f);
    compare_backends(t, {&wide}, seed);
    const Tensor edges = Tensor::from_vector<float>(Shape{10}, {0.f, -0.f, 1e-8f, -1e-8f, 0.124f, 0.126f, -87.5f, 88.5f, 1e4f, -1e4f});
    compare_backends(t, {&edges}, seed);
  }
  NodeUnderTest clip("Clip", 3, 1, 13);
  const Tensor x = random_tensor(Shape{5, 7}, 7, -3.f, 3.f);
  const Tensor lo = Tensor::from_vector<float>(Shape{}, {-0.5f}), hi = Tensor::from_vector<float>(Shape{}, {1.25f});
  compare_backends(clip, {&x, &lo, &hi}, 7);
  NodeUnderTest clip_attr("Clip", 1, 1, 9);
  clip_attr.attr("min", -0.25f).attr("max", 0.5f);
  compare_backends(clip_attr, {&x}, 8);
}

// Pow with a constant scalar exponent; x*x for 2 must equal the correctly rounded square. The
// oracle squares in double (exact for a float) and rounds once: glibc's powf is not always
// correctly rounded, and at -O0 std::pow(x, 2.f) calls it instead of folding to x*x.
TEST(CpuKernels, PowScalarExponent) {
  uint32_t seed = 200;
  const Tensor x = random_tensor(Shape{3, 80, 85}, seed++, -3.f, 3.f);
  const Tensor pos = random_tensor(Shape{2, 9}, seed++, 0.1f, 4.f);
  const Tensor two = Tensor::from_vector<float>(Shape{}, {2.f});
  const Tensor two_i = Tensor::from_vector<int64_t>(Shape{1}, {2});
  const Tensor half = Tensor::from_vector<float>(Shape{}, {0.5f});
  const Tensor e = Tensor::from_vector<float>(Shape{}, {2.7f});
  for (const Tensor* ex : {&two, &two_i}) {
    NodeUnderTest t("Pow", 2, 1, 15);
    compare_backends(t, {&x, ex}, seed++);
    const std::vector<const Tensor*> ins = {&x, ex};
    auto got = kernels::evaluate_node(*t.node, ins, "cpu");
    ASSERT_TRUE(got.is_ok());
    const float* y = got.value()[0].as<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = x.as<float>()[i];
      ASSERT_EQ(y[i], static_cast<float>(xi * xi)) << "at " << i;
    }
  }
  for (const Tensor* ex : {&half, &e}) {
    NodeUnderTest t("Pow", 2, 1, 15);
    compare_backends(t, {&pos, ex}, seed++);
  }
  NodeUnderTest per_element("Pow", 2, 1, 15);
  compare_backends(per_element, {&pos, &pos}, seed++, false);  // not a scalar exponent: declined
}

// MatMul and Gemm with 1 to 4 rows against a constant B of >= 192 KB run on the cpu GEMV
// (panels of 64 columns; widths off the panel, batch dims, a 1-D A, Gemm's transposes, alpha,
// beta and every C broadcast), against the reference. Five rows or a smaller B are declined.
TEST(CpuKernels, GemvMatMulAndGemm) {
  // The oracle is the reference kernel on f64 copies (its f32 sums drift by 1e-5 relative
  // over K = 50000); the GEMV sums 16 products at a time in f32 and those parts in double,
  // so it must land within 3e-6 (1.5e-6 seen).
  auto convert = [](const Tensor& t, DType to) {
    Tensor out(to, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double v = view_get_f64(t.view(), i);
      if (to == DType::f64) out.as<double>()[i] = v;
      else out.as<float>()[i] = static_cast<float>(v);
    }
    return out;
  };
  auto check = [&](NodeUnderTest& t, const std::vector<const Tensor*>& ins, uint32_t seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Tensor> wide;
    for (const Tensor* in : ins) wide.push_back(convert(*in, DType::f64));
    std::vector<const Tensor*> wide_ins;
    for (const Tensor& w : wide) wide_ins.push_back(&w);
    auto want = kernels::evaluate_node(*t.node, wide_ins, "ref");
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    auto got = kernels::evaluate_node(*t.node, ins, "cpu");
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    expect_close(got.value()[0], convert(want.value()[0], DType::f32), 3e-6, 3e-6);
    auto onednn = kernels::evaluate_node(*t.node, ins, "onednn");
    ASSERT_FALSE(onednn.is_ok());  // one backend owns each case
    EXPECT_EQ(onednn.status().code(), StatusCode::unsupported);
  };
  uint32_t seed = 900;
  const std::vector<std::pair<Shape, Shape>> matmuls = {
      {{1, 960}, {960, 1280}}, {{3, 700}, {700, 130}}, {{2, 1, 769}, {769, 64}}, {{3300}, {3300, 15}}, {{4, 50000}, {50000, 1}}};
  for (const auto& [sa, sb] : matmuls) {
    NodeUnderTest t("MatMul", 2);
    const Tensor a = random_tensor(sa, seed++), b = random_tensor(sb, seed++);
    check(t, {&a, &b}, seed);
  }
  for (int64_t rows : {1, 4})
    for (int64_t ta : {0, 1})
      for (int64_t tb : {0, 1})
        for (const Shape& c : {Shape{}, Shape{131}, Shape{1, 131}, Shape{rows, 131}, Shape{rows, 1}}) {
          if (ta && rows > 1) continue;
          NodeUnderTest t("Gemm", 3);
          // alpha and beta of 1 make C a bias of the packed product where it is a row vector
          const float alpha = c.rank() == 1 ? 1.f : 0.5f, beta = c.rank() == 1 ? 1.f : 2.f;
          t.attr("transA", ta).attr("transB", tb).attr("alpha", alpha).attr("beta", beta);
          const Tensor a = random_tensor(ta ? Shape{450, rows} : Shape{rows, 450}, seed++);
          const Tensor b = random_tensor(tb ? Shape{131, 450} : Shape{450, 131}, seed++);
          const Tensor bias = random_tensor(c, seed++);
          check(t, {&a, &b, &bias}, seed);
        }
  NodeUnderTest declined("MatMul", 2);
  const Tensor five = random_tensor(Shape{5, 400}, 1), big = random_tensor(Shape{400, 200}, 2);
  compare_backends(declined, {&five, &big}, 0, false);  // five rows
  const Tensor one = random_tensor(Shape{1, 96}, 3), small = random_tensor(Shape{96, 384}, 4);
  compare_backends(declined, {&one, &small}, 0, false);  // B of 144 KB
}

TEST(CpuKernels, ResizeNearest) {
  struct Case {
    Shape in;
    std::vector<int64_t> sizes;
    std::vector<float> scales;
    const char* ctm;
    const char* mode;
  };
  const std::vector<Case> cases = {
      {{1, 4, 4, 3}, {1, 8, 8, 3}, {}, "asymmetric", "floor"},     // NHWC 2x, the detector's case
      {{1, 3, 5, 7}, {1, 3, 10, 14}, {}, "asymmetric", "floor"},   // NCHW
      {{1, 3, 5, 7}, {}, {1.f, 1.f, 2.f, 2.f}, "asymmetric", "floor"},
      {{1, 3, 6, 6}, {1, 3, 4, 9}, {}, "half_pixel", "round_prefer_floor"},
      {{2, 5, 5, 2}, {2, 7, 3, 2}, {}, "half_pixel", "round_prefer_ceil"},
      {{1, 2, 9, 4}, {}, {1.f, 1.f, 0.5f, 1.5f}, "asymmetric", "ceil"},
      {{1, 40, 40, 96}, {1, 80, 80, 96}, {}, "asymmetric", "floor"},  // 2.4 MB: split across threads
      {{1, 3, 5, 6, 8}, {}, {1.f, 1.f, 2.f, 2.f, 1.f}, "asymmetric", "floor"},  // blocked: rows of 32 bytes
      {{1, 2, 4, 4, 16}, {1, 2, 3, 9, 16}, {}, "half_pixel", "round_prefer_floor"},
  };
  uint32_t seed = 200;
  for (int threads : {1, 2})
  for (const Case& c : cases) {
    omp_set_num_threads(threads);
    NodeUnderTest t("Resize", 4, 1, 13);
    t.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string(c.ctm))
        .attr("nearest_mode", std::string(c.mode));
    const Tensor x = random_tensor(c.in, seed++);
    const Tensor roi(DType::f32, Shape{0});
    Tensor scales = c.scales.empty() ? Tensor(DType::f32, Shape{0})
                                     : Tensor::from_vector<float>(Shape{static_cast<int64_t>(c.scales.size())}, c.scales);
    if (c.sizes.empty()) {
      compare_backends(t, {&x, &roi, &scales, nullptr}, seed);
    } else {
      const Tensor sizes = Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(c.sizes.size())}, c.sizes);
      compare_backends(t, {&x, &roi, &scales, &sizes}, seed);
    }
  }
  omp_set_num_threads(1);
}

TEST(CpuKernels, TransposeAsBatched2d) {
  uint32_t seed = 400;
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{1, 3, 37, 41}, {0, 2, 3, 1}}, {{2, 33, 35, 24}, {0, 3, 1, 2}}, {{5, 70}, {1, 0}}, {{2, 3, 4, 5}, {0, 1, 3, 2}},
      {{2, 3, 4, 5}, {2, 3, 0, 1}}, {{2, 3, 4}, {}},
      {{1, 33, 35, 1}, {0, 3, 1, 2}}, {{2, 4, 9, 7}, {0, 2, 3, 1}},  // a size-1 axis moved (a copy); 4 planes
      // Trailing kept axes move as one element: YOLOv5's boxes (340 bytes), 48, 20 and 8 bytes.
      {{1, 8, 8, 3, 85}, {0, 3, 1, 2, 4}}, {{2, 5, 6, 2}, {1, 0, 2, 3}}, {{3, 4, 5}, {1, 0, 2}}, {{3, 4, 2}, {1, 0, 2}},
      {{2, 3, 4, 5, 6}, {2, 0, 1, 3, 4}},
      // Large enough (>= 1 MB, kParallelBytes) to be split across two threads: planes, tiles and boxes.
      {{1, 3, 320, 300}, {0, 2, 3, 1}}, {{2, 150, 130, 8}, {0, 3, 1, 2}}, {{1, 40, 40, 3, 85}, {0, 3, 1, 2, 4}}};
  for (int threads : {1, 2})
    for (const auto& [shape, perm] : cases) {
      omp_set_num_threads(threads);
      NodeUnderTest t("Transpose", 1);
      if (!perm.empty()) t.attr("perm", perm);
      const Tensor x = random_tensor(shape, seed++);
      // A reversal of three axes is not a batched 2-D transpose: declined.
      compare_backends(t, {&x}, seed, !(perm.empty() && shape.rank() == 3));
    }
  // Three planes of bytes into pixels (a QDQ model's quantized input; AVX-512 VBMI takes 64
  // pixels a step): a tail of 37 pixels, exact multiples of 64, two images, a parallel size.
  for (int threads : {1, 2})
    for (const Shape& shape : {Shape{1, 3, 37, 41}, Shape{2, 3, 8, 64}, Shape{1, 3, 640, 640}}) {
      omp_set_num_threads(threads);
      NodeUnderTest t("Transpose", 1);
      t.attr("perm", std::vector<int64_t>{0, 2, 3, 1});
      Tensor x(DType::u8, shape);
      for (int64_t i = 0; i < x.numel(); ++i) x.as<uint8_t>()[i] = static_cast<uint8_t>((i * 131 + seed) % 251);
      compare_backends(t, {&x}, seed++);
    }
  omp_set_num_threads(1);
  NodeUnderTest t("Transpose", 1);
  t.attr("perm", std::vector<int64_t>{0, 3, 2, 1});
  const Tensor x = random_tensor(Shape{2, 3, 4, 5}, seed);
  compare_backends(t, {&x}, seed, false);  // a reversal under a kept leading axis: declined
}

// Concat against the reference: NHWC channel joins, a leading-axis join of large blocks (the
// per-thread chunk split), an empty input, 1- and 8-byte elements; on one and two threads.
TEST(CpuKernels, ConcatAnyAxis) {
  struct Case {
    std::vector<Shape> ins;
    int64_t axis;
    DType dtype;
  };
  const std::vector<Case> cases = {
      {{{1, 40, 40, 32}, {1, 40, 40, 32}}, 3, DType::f32},
      {{{1, 19200, 85}, {1, 4800, 85}, {1, 1200, 85}}, 1, DType::f32},
      {{{2, 3, 5}, {2, 0, 5}, {2, 4, 5}}, -2, DType::f32},
      {{{3, 7}, {3, 1}}, 1, DType::u8},
      {{{300, 70}, {300, 90}}, 1, DType::i64},
  };
  uint32_t seed = 1000;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases) {
      NodeUnderTest t("Concat", c.ins.size());
      t.attr("axis", c.axis);
      std::vector<Tensor> xs;
      for (const Shape& s : c.ins) {
        Tensor f = random_tensor(s, seed++, -100.f, 100.f);
        Tensor x(c.dtype, s);
        for (int64_t i = 0; i < x.numel(); ++i) {
          const float v = f.as<float>()[i];
          if (c.dtype == DType::f32) x.as<float>()[i] = v;
          else if (c.dtype == DType::u8) x.as<uint8_t>()[i] = static_cast<uint8_t>(v + 100.f);
          else x.as<int64_t>()[i] = static_cast<int64_t>(v * 1e6f);
        }
        xs.push_back(std::move(x));
      }
      std::vector<const Tensor*> ins;
      for (const Tensor& x : xs) ins.push_back(&x);
      auto want = kernels::evaluate_node(*t.node, ins, "ref");
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      auto got = kernels::evaluate_node(*t.node, ins, "cpu");
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      const Tensor& g = got.value()[0];
      const Tensor& w = want.value()[0];
      ASSERT_EQ(g.shape(), w.shape());
      ASSERT_EQ(std::memcmp(g.data(), w.data(), static_cast<size_t>(w.numel()) * dtype_size(w.dtype())), 0);
    }
  }
  omp_set_num_threads(1);
}

// Slice against the reference on one and two threads: YOLOv5's box slices on the last axis,
// steps and reversals on outer axes, an empty range, a large slice split across threads. A step
// on the innermost axis is declined (the reference runs it).
TEST(CpuKernels, SliceContiguousRows) {
  struct Case {
    Shape x;
    std::vector<int64_t> starts, ends, axes, steps;
    bool fast;
  };
  const std::vector<Case> cases = {
      {{1, 3, 20, 20, 85}, {0}, {2}, {4}, {1}, true},
      {{1, 3, 20, 20, 85}, {4}, {85}, {-1}, {1}, true},
      {{4, 6, 10}, {1, 5}, {4, -1}, {0, 1}, {2, 1}, true},
      {{4, 6, 10}, {-1, 0}, {-5, 10}, {0, 2}, {-1, 1}, true},       // reversed outer axis
      {{5, 7}, {3}, {3}, {0}, {1}, true},                            // empty
      {{1, 3, 80, 80, 85}, {4}, {85}, {4}, {1}, true},               // 6 MB: split across threads
      {{2, 3, 9}, {1}, {9}, {2}, {2}, false},                        // innermost step
  };
  uint32_t seed = 1100;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases) {
      NodeUnderTest t("Slice", 5, 1, 13);
      const Tensor x = random_tensor(c.x, seed++);
      const auto ints = [](const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v); };
      const Tensor st = ints(c.starts), en = ints(c.ends), ax = ints(c.axes), sp = ints(c.steps);
      compare_backends(t, {&x, &st, &en, &ax, &sp}, seed, c.fast);
    }
  }
  omp_set_num_threads(1);
}

TEST(CpuKernels, SoftmaxLastAxis) {
  uint32_t seed = 600;
  for (int opset : {11, 13})
    for (const Shape& s : {Shape{1, 40, 6625}, Shape{3, 7}, Shape{5}}) {
      NodeUnderTest t("Softmax", 1, 1, opset);
      t.attr("axis", static_cast<int64_t>(s.rank()) - 1);
      const Tensor x = random_tensor(s, seed++, -20.f, 20.f);
      compare_backends(t, {&x}, seed);
    }
  NodeUnderTest t("Softmax", 1, 1, 13);
  t.attr("axis", int64_t{0});
  const Tensor x = random_tensor(Shape{4, 6}, seed);
  compare_backends(t, {&x}, seed, false);  // not the last axis: declined
}

TEST(CpuKernels, PoolsBothLayouts) {
  struct Case {
    Shape in;
    int64_t kh, kw, s, p;
  };
  uint32_t seed = 900;
  // Stride-1 max windows of 9 taps and more take the separable two-pass kernel (the 5x5 and
  // the all-padding 3x3 cases). The last case (1.6 MB, SPPF's pool at 40x40) is split across
  // threads when two are set;
  // 8 channels take the one-register path, the 3x2 window is the recognizer's AveragePool; a
  // 4-pixel pad around a 3x3 window has windows that lie wholly in the padding.
  for (int threads : {1, 2})
    for (const char* op : {"MaxPool", "AveragePool"})
      for (int64_t include_pad : {0, 1})
        for (const Case& c : {Case{{1, 8, 20, 20}, 5, 5, 1, 2}, Case{{2, 3, 17, 13}, 3, 3, 2, 1},
                              Case{{1, 16, 9, 9}, 2, 2, 2, 0}, Case{{1, 24, 3, 80}, 3, 2, 0, 0},
                              Case{{1, 4, 6, 6}, 3, 3, 1, 4}, Case{{1, 256, 40, 40}, 5, 5, 1, 2}}) {
          const bool avg = std::string(op) == "AveragePool";
          if (!avg && include_pad) continue;
          SCOPED_TRACE(std::string(op) + " include_pad " + std::to_string(include_pad) + " threads " + std::to_string(threads));
          omp_set_num_threads(threads);
          NodeUnderTest onnx(op, 1);
          const int64_t sh = c.s ? c.s : c.kh, sw = c.s ? c.s : c.kw;  // stride 0: the window's size
          onnx.attr("kernel_shape", std::vector<int64_t>{c.kh, c.kw}).attr("strides", std::vector<int64_t>{sh, sw})
              .attr("pads", std::vector<int64_t>{c.p, c.p, c.p, c.p});
          if (avg) onnx.attr("count_include_pad", include_pad);
          const Tensor x = random_tensor(c.in, seed++);
          compare_backends(onnx, {&x}, seed);
          // NHWC: the same window over transposed data.
          auto want = kernels::evaluate_node(*onnx.node, std::vector<const Tensor*>{&x}, "ref");
          ASSERT_TRUE(want.is_ok());
          NodeUnderTest t(op, 1, 1, 1);
          t.node->domain = "edgepipe";
          t.node->attrs = onnx.node->attrs;
          t.attr("layout", std::string("NHWC"));
          const Shape& s = c.in;
          Tensor xt(DType::f32, Shape{s[0], s[2], s[3], s[1]});
          for (int64_t n = 0; n < s[0]; ++n)
            for (int64_t ch = 0; ch < s[1]; ++ch)
              for (int64_t h = 0; h < s[2]; ++h)
                for (int64_t w = 0; w < s[3]; ++w)
                  xt.as<float>()[((n * s[2] + h) * s[3] + w) * s[1] + ch] = x.as<float>()[((n * s[1] + ch) * s[2] + h) * s[3] + w];
          auto got = kernels::evaluate_node(*t.node, std::vector<const Tensor*>{&xt}, "ref");
          ASSERT_TRUE(got.is_ok()) << got.status().to_string();
          const Tensor& y = want.value()[0];
          const Shape& ys = y.shape();
          for (int64_t n = 0; n < ys[0]; ++n)
            for (int64_t ch = 0; ch < ys[1]; ++ch)
              for (int64_t h = 0; h < ys[2]; ++h)
                for (int64_t w = 0; w < ys[3]; ++w) {
                  const float g = got.value()[0].as<float>()[((n * ys[2] + h) * ys[3] + w) * ys[1] + ch];
                  const float r = y.as<float>()[((n * ys[1] + ch) * ys[2] + h) * ys[3] + w];
                  if (avg)  // float sums against the reference's double
                    ASSERT_NEAR(g, r, 1e-6);
                  else
                    ASSERT_EQ(g, r);
                }
        }
  for (const char* op : {"MaxPool", "AveragePool"}) {
    NodeUnderTest ceil(op, 1);
    ceil.attr("kernel_shape", std::vector<int64_t>{3, 3}).attr("ceil_mode", int64_t{1});
    const Tensor x = random_tensor(Shape{1, 2, 8, 8}, seed);
    compare_backends(ceil, {&x}, seed, false);  // ceil_mode: declined
  }
  omp_set_num_threads(1);
}

// A bf16 copy of an f32 tensor (rounded to nearest even), and its exact f32 widening.
Tensor to_bf16(const Tensor& x) {
  Tensor t(DType::bf16, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) t.as<uint16_t>()[i] = f32_to_bf16(x.as<float>()[i]);
  return t;
}
Tensor widen(const Tensor& x) {
  Tensor t(DType::f32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) t.as<float>()[i] = bf16_to_f32(x.as<uint16_t>()[i]);
  return t;
}

// edgepipe.ResizeConcat(X0, ..) = Concat(Resize(X0), .., X2) along the last axis: byte for byte
// the reference Resizes then Concat. NHWC maps upsampled 2x (by scales), 4x (by sizes) and 1x
// (an input passed as is), f32 and u8 (96- and 24-byte pixels: the 32-byte pieces with an
// overlapping tail, and 8-byte ones), asymmetric/floor and half_pixel/round_prefer_floor, at
// one and two threads.
TEST(CpuKernels, ResizeConcatIsResizesThenConcat) {
  uint32_t seed = 950;
  for (int threads : {1, 2})
    for (DType t : {DType::f32, DType::u8})
      for (bool half_pixel : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + (half_pixel ? " half_pixel" : " asymmetric") + " threads " +
                     std::to_string(threads));
        omp_set_num_threads(threads);
        const int64_t h = 16, w = 20;
        const std::vector<Shape> shapes = {{1, h / 2, w / 2, 24}, {1, h / 4, w / 4, 8}, {1, h, w, 24}, {1, h / 2, w / 2, 3}};
        std::vector<Tensor> xs;
        for (const Shape& sh : shapes) {
          Tensor f = random_tensor(sh, seed++, 0.f, 255.f);
          if (t == DType::f32) {
            xs.push_back(std::move(f));
            continue;
          }
          Tensor q(DType::u8, sh);
          for (int64_t i = 0; i < q.numel(); ++i) q.as<uint8_t>()[i] = static_cast<uint8_t>(f.as<float>()[i]);
          xs.push_back(std::move(q));
        }
        const char* ctm = half_pixel ? "half_pixel" : "asymmetric";
        const char* mode = half_pixel ? "round_prefer_floor" : "floor";
        const Tensor roi(DType::f32, Shape{0}), none(DType::f32, Shape{0});
        const Tensor sc2 = Tensor::from_vector<float>(Shape{4}, {1.f, 2.f, 2.f, 1.f});
        const Tensor sizes4 = Tensor::from_vector<int64_t>(Shape{4}, {1, h, w, 8});
        auto resize = [&](const Tensor& x, const Tensor* scales, const Tensor* sizes) {
          NodeUnderTest r("Resize", 4, 1, 13);
          r.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string(ctm))
              .attr("nearest_mode", std::string(mode));
          auto up = kernels::evaluate_node(*r.node, std::vector<const Tensor*>{&x, &roi, scales, sizes}, "ref");
          EXPECT_TRUE(up.is_ok()) << up.status().to_string();
          return up.is_ok() ? std::move(up.value()[0]) : Tensor();
        };
        const Tensor u0 = resize(xs[0], &sc2, nullptr), u1 = resize(xs[1], &none, &sizes4),
                     u3 = resize(xs[3], &sc2, nullptr);
        NodeUnderTest cat("Concat", 4);
        cat.attr("axis", int64_t{3});
        auto want = kernels::evaluate_node(*cat.node, std::vector<const Tensor*>{&u0, &u1, &xs[2], &u3}, "ref");
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();
        NodeUnderTest f("ResizeConcat", 4, 1, 1);
        f.node->domain = "edgepipe";
        f.attr("axis", int64_t{3}).attr("coordinate_transformation_mode", std::string(ctm))
            .attr("nearest_mode", std::string(mode))
            .attr("scales", std::vector<float>{1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1})
            .attr("scale_from_sizes", std::vector<int64_t>{0, 1, 0, 0})
            .attr("output_shape", std::vector<int64_t>{1, h, w, 59});
        auto got = kernels::evaluate_node(*f.node, std::vector<const Tensor*>{&xs[0], &xs[1], &xs[2], &xs[3]}, "cpu");
        ASSERT_TRUE(got.is_ok()) << got.status().to_string();
        const Tensor& wt = want.value()[0];
        ASSERT_EQ(got.value()[0].dtype(), wt.dtype());
        ASSERT_EQ(got.value()[0].shape(), wt.shape());
        ASSERT_EQ(std::memcmp(got.value()[0].data(), wt.data(), static_cast<size_t>(wt.nbytes())), 0);
      }
  omp_set_num_threads(1);
}

// Scales that give no usable size (infinite, NaN, past 2^62) are an error naming the input, not
// a float-to-integer conversion out of range: for Resize and for ResizeConcat.
TEST(CpuKernels, ResizeRejectsScalesWithoutAUsableSize) {
  const Tensor x = random_tensor(Shape{1, 2, 3, 4}, 977);
  const Tensor roi(DType::f32, Shape{0});
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), 1e30f}) {
    SCOPED_TRACE(std::to_string(bad));
    const Tensor scales = Tensor::from_vector<float>(Shape{4}, {1.f, 1.f, bad, 1.f});
    NodeUnderTest r("Resize", 3, 1, 13);
    r.attr("mode", std::string("nearest"));
    auto got = kernels::evaluate_node(*r.node, std::vector<const Tensor*>{&x, &roi, &scales}, "cpu");
    EXPECT_FALSE(got.is_ok());
    NodeUnderTest f("ResizeConcat", 1, 1, 1);
    f.node->domain = "edgepipe";
    f.attr("axis", int64_t{3}).attr("scales", std::vector<float>{1.f, 1.f, bad, 1.f})
        .attr("scale_from_sizes", std::vector<int64_t>{0}).attr("output_shape", std::vector<int64_t>{1, 2, 6, 4});
    auto cat = kernels::evaluate_node(*f.node, std::vector<const Tensor*>{&x}, "cpu");
    ASSERT_FALSE(cat.is_ok());
    EXPECT_NE(cat.status().to_string().find("input 0"), std::string::npos) << cat.status().to_string();
  }
}

// A kernel's output equals `want` byte for byte (dtype, shape, bytes).
void expect_same_bytes(const Result<std::vector<Tensor>>& got, const Tensor& want) {
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  const Tensor& g = got.value()[0];
  ASSERT_EQ(g.dtype(), want.dtype());
  ASSERT_EQ(g.shape(), want.shape());
  ASSERT_EQ(std::memcmp(g.data(), want.data(), static_cast<size_t>(want.nbytes())), 0);
}

// ScaleAdd(x, s, y_scale, y_zero_point): the bytes of ScaleAdd(x, s) then QuantizeLinear
// (the fast kernels a QDQ session ran before the fold), u8 and i8, rows of 24 (whole rows
// per piece) and of 300 (pieces of a row), at one and two threads.
TEST(CpuKernels, QuantizedScaleAddIsScaleAddThenQuantizeLinear) {
  uint32_t seed = 70;
  for (int threads : {1, 2})
    for (const auto& [sx, ss] : std::vector<std::pair<Shape, Shape>>{{{1, 40, 40, 24}, {1, 1, 1, 24}},
                                                                    {{1, 3, 5, 300}, {300}}})
      for (DType q : {DType::u8, DType::i8}) {
        SCOPED_TRACE(sx.to_string() + " threads " + std::to_string(threads));
        omp_set_num_threads(threads);
        const Tensor x = random_tensor(sx, seed++, -3.f, 3.f), sc = random_tensor(ss, seed++, 0.f, 1.f);
        const Tensor ys = Tensor::from_vector<float>(Shape{}, {0.021f});
        Tensor yz(q, Shape{});
        static_cast<uint8_t*>(yz.data())[0] = q == DType::u8 ? 131 : static_cast<uint8_t>(int8_t{-9});
        NodeUnderTest sa("ScaleAdd", 2, 1, 1), qz("QuantizeLinear", 3, 1, 13), fused("ScaleAdd", 4, 1, 1);
        sa.node->domain = fused.node->domain = "edgepipe";
        const std::vector<const Tensor*> xs = {&x, &sc};
        auto sum = kernels::evaluate_node(*sa.node, xs, "ref");
        ASSERT_TRUE(sum.is_ok()) << sum.status().to_string();
        const std::vector<const Tensor*> q_in = {&sum.value()[0], &ys, &yz};
        auto want = kernels::evaluate_node(*qz.node, q_in, "cpu");
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();
        const std::vector<const Tensor*> f_in = {&x, &sc, &ys, &yz};
        expect_same_bytes(kernels::evaluate_node(*fused.node, f_in, "ref"), want.value()[0]);
      }
  omp_set_num_threads(1);
}

// edgepipe.ResizeAdd(A, X, roi, scales, sizes) = A + Resize(X): bit for bit the reference
// Resize then Add (f32), or that sum on the widened operands rounded once to bf16 (a bf16
// session's), or (f32, with y_scale and y_zero_point) the QuantizeLinear of it, or (f32, with
// A_scale) the ScaleAdd a + a * s before it; NHWC 2x with
// 96 and 20 channels (pieces of 16 and a tail), an NCHW form, by scales and by sizes, at one
// and two threads.
TEST(CpuKernels, ResizeAddIsResizeThenAdd) {
  struct Case {
    Shape in, out;
    bool by_sizes;
    const char* ctm;
    const char* mode;
  };
  const std::vector<Case> cases = {
      {{1, 20, 20, 96}, {1, 40, 40, 96}, false, "asymmetric", "floor"},
      {{1, 3, 5, 20}, {1, 6, 10, 20}, true, "half_pixel", "round_prefer_floor"},
      {{1, 3, 5, 7}, {1, 3, 10, 14}, true, "asymmetric", "floor"},
  };
  uint32_t seed = 900;
  for (int threads : {1, 2})
    for (const Case& c : cases)
      for (bool bf16 : {false, true}) {
        SCOPED_TRACE(std::string(bf16 ? "bf16 " : "f32 ") + c.in.to_string() + " threads " + std::to_string(threads));
        omp_set_num_threads(threads);
        const Tensor roi(DType::f32, Shape{0});
        std::vector<float> sc;
        for (size_t a = 0; a < c.in.rank(); ++a) sc.push_back(static_cast<float>(c.out[a]) / static_cast<float>(c.in[a]));
        const Tensor scales = c.by_sizes ? Tensor(DType::f32, Shape{0}) : Tensor::from_vector<float>(Shape{4}, sc);
        const Tensor sizes = Tensor::from_vector<int64_t>(Shape{4}, {c.out[0], c.out[1], c.out[2], c.out[3]});
        Tensor x = random_tensor(c.in, seed++), a = random_tensor(c.out, seed++);
        if (bf16) {  // operands exactly representable in bf16
          x = widen(to_bf16(x));
          a = widen(to_bf16(a));
        }
        NodeUnderTest r("Resize", 4, 1, 13);
        r.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string(c.ctm))
            .attr("nearest_mode", std::string(c.mode));
        const std::vector<const Tensor*> r_in = {&x, &roi, &scales, c.by_sizes ? &sizes : nullptr};
        auto up = kernels::evaluate_node(*r.node, r_in, "ref");
        ASSERT_TRUE(up.is_ok()) << up.status().to_string();
        NodeUnderTest add("Add", 2);
        const std::vector<const Tensor*> add_in = {&a, &up.value()[0]};
        auto sum = kernels::evaluate_node(*add.node, add_in, "ref");
        ASSERT_TRUE(sum.is_ok()) << sum.status().to_string();
        // The cpu ResizeAdd of A, X, roi, scales/sizes and `more` (y_scale, y_zero_point, A_scale).
        auto resize_add = [&](const Tensor& av, const Tensor& xv, std::vector<const Tensor*> more) {
          std::vector<const Tensor*> ins = {&av, &xv, &roi, &scales, c.by_sizes ? &sizes : nullptr};
          ins.insert(ins.end(), more.begin(), more.end());
          NodeUnderTest f("ResizeAdd", ins.size(), 1, 1);
          f.node->domain = "edgepipe";
          f.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string(c.ctm))
              .attr("nearest_mode", std::string(c.mode));
          return kernels::evaluate_node(*f.node, ins, "cpu");
        };
        const Tensor ab = bf16 ? to_bf16(a) : a.clone(), xb = bf16 ? to_bf16(x) : x.clone();
        const Tensor want = bf16 ? to_bf16(sum.value()[0]) : sum.value()[0].clone();
        expect_same_bytes(resize_add(ab, xb, {}), want);
        if (bf16) {
          if (c.in[3] != c.out[3]) continue;
          // bf16 with A_scale (bf16 and f32 s): the fast ScaleAdd (bf16 out) then the fast bf16
          // Add (the kernels a bf16 session ran before the fold), byte for byte.
          for (bool s_bf16 : {true, false}) {
            SCOPED_TRACE(s_bf16 ? "bf16 A_scale" : "f32 A_scale");
            Tensor s = random_tensor(Shape{1, 1, 1, c.out[3]}, seed++, 0.f, 1.f);
            if (s_bf16) s = to_bf16(s);
            NodeUnderTest sa("ScaleAdd", 2, 1, 1), add2("Add", 2);
            sa.node->domain = "edgepipe";
            auto scaled = kernels::evaluate_node(*sa.node, std::vector<const Tensor*>{&ab, &s}, "ref");
            ASSERT_TRUE(scaled.is_ok()) << scaled.status().to_string();
            ASSERT_EQ(scaled.value()[0].dtype(), DType::bf16);
            const Tensor upb = to_bf16(up.value()[0]);
            auto swant = kernels::evaluate_node(*add2.node, std::vector<const Tensor*>{&scaled.value()[0], &upb}, "cpu");
            ASSERT_TRUE(swant.is_ok()) << swant.status().to_string();
            expect_same_bytes(resize_add(ab, xb, {nullptr, nullptr, &s}), swant.value()[0]);
          }
          continue;
        }
        // With y_scale and y_zero_point (a QDQ model's QuantizeLinear after the Add): the
        // reference QuantizeLinear of the reference sum, byte for byte, u8 and i8. The scale
        // puts the sums (within +-2) over the whole range, saturating at both ends.
        for (DType q : {DType::u8, DType::i8}) {
          SCOPED_TRACE(q == DType::u8 ? "quantized u8" : "quantized i8");
          const Tensor ys = Tensor::from_vector<float>(Shape{}, {0.0117f});
          const Tensor yz = q == DType::u8 ? Tensor::from_vector<uint8_t>(Shape{}, {131})
                                           : Tensor::from_vector<int8_t>(Shape{}, {-3});
          NodeUnderTest quant("QuantizeLinear", 3);
          const std::vector<const Tensor*> q_in = {&sum.value()[0], &ys, &yz};
          auto qwant = kernels::evaluate_node(*quant.node, q_in, "ref");
          ASSERT_TRUE(qwant.is_ok()) << qwant.status().to_string();
          const Tensor& qw = qwant.value()[0];
          ASSERT_EQ(qw.dtype(), q);
          expect_same_bytes(resize_add(a, x, {&ys, &yz}), qw);
          int lo = 0, hi = 0;  // both saturation ends reached
          for (int64_t i = 0; i < qw.numel(); ++i) {
            const int v = q == DType::u8 ? qw.as<uint8_t>()[i] : qw.as<int8_t>()[i];
            lo += v == (q == DType::u8 ? 0 : -128);
            hi += v == (q == DType::u8 ? 255 : 127);
          }
          EXPECT_GT(lo, 0);
          EXPECT_GT(hi, 0);
        }
        if (c.in[3] != c.out[3]) continue;
        // With A_scale (A made by a ScaleAdd: a + a * s, s per channel of the last axis): the
        // reference Mul, Add and Add, bit for bit; then with y_scale too, its QuantizeLinear.
        const Tensor s = random_tensor(Shape{1, 1, 1, c.out[3]}, seed++, 0.f, 1.f);
        NodeUnderTest mul("Mul", 2), add_a("Add", 2), add_up("Add", 2);
        auto as = kernels::evaluate_node(*mul.node, std::vector<const Tensor*>{&a, &s}, "ref");
        ASSERT_TRUE(as.is_ok()) << as.status().to_string();
        auto scaled = kernels::evaluate_node(*add_a.node, std::vector<const Tensor*>{&a, &as.value()[0]}, "ref");
        ASSERT_TRUE(scaled.is_ok()) << scaled.status().to_string();
        auto swant = kernels::evaluate_node(*add_up.node, std::vector<const Tensor*>{&scaled.value()[0], &up.value()[0]}, "ref");
        ASSERT_TRUE(swant.is_ok()) << swant.status().to_string();
        const Tensor ys = Tensor::from_vector<float>(Shape{}, {0.0117f});
        const Tensor yz = Tensor::from_vector<uint8_t>(Shape{}, {131});
        NodeUnderTest quant("QuantizeLinear", 3);
        auto sqwant = kernels::evaluate_node(*quant.node, std::vector<const Tensor*>{&swant.value()[0], &ys, &yz}, "ref");
        ASSERT_TRUE(sqwant.is_ok()) << sqwant.status().to_string();
        for (bool quantized : {false, true}) {
          SCOPED_TRACE(quantized ? "A_scale, quantized" : "A_scale");
          expect_same_bytes(resize_add(a, x, {quantized ? &ys : nullptr, quantized ? &yz : nullptr, &s}),
                            quantized ? sqwant.value()[0] : swant.value()[0]);
        }
      }
  omp_set_num_threads(1);
}

// bf16 operands (a bf16 session's activations): the fast kernel widens, computes in f32 and
// rounds once, so its output is the f32 reference on the widened operands rounded to bf16,
// bit for bit; both operands bf16, or one (a bf16 activation against an f32 scale or bias).
TEST(CpuKernels, BinaryOnBf16RoundsTheF32Result) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {1}},  {{1, 8, 8, 16}, {1, 1, 1, 16}}, {{1, 16, 8, 8}, {1, 16, 1, 1}},
      {{4, 1, 6}, {1, 5, 1}},       {{7}, {3, 1}},        {{1, 40, 40, 96}, {1, 40, 40, 96}},  // pieces of 512
      {{1, 20, 20, 24}, {1, 1, 1, 24}}, {{1, 3, 1, 1, 8}, {1, 3, 5, 7, 8}}};
  uint32_t seed = 700;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const auto& [sa, sb] : shapes)
      for (const char* op : {"Add", "Sub", "Mul", "Div", "ScaleAdd"})
        for (int which : {0, 1, 2}) {  // both bf16, only a, only b
          SCOPED_TRACE(std::string(op) + " " + sa.to_string() + " " + sb.to_string() + " bf16 operands " +
                       std::to_string(which) + ", threads " + std::to_string(threads));
          NodeUnderTest t(op, 2);
          if (std::string(op) == "ScaleAdd") {
            t.node->domain = "edgepipe";
            t.node->opset = 1;
          }
          const Tensor a = to_bf16(random_tensor(sa, seed++, 0.5f, 2.f)), b = to_bf16(random_tensor(sb, seed++, 0.5f, 2.f));
          const Tensor wa = widen(a), wb = widen(b);
          const std::vector<const Tensor*> wide = {&wa, &wb};
          auto want = kernels::evaluate_node(*t.node, wide, "ref");
          ASSERT_TRUE(want.is_ok()) << want.status().to_string();
          const Tensor& ia = which == 2 ? wa : a;
          const Tensor& ib = which == 1 ? wb : b;
          const std::vector<const Tensor*> ins = {&ia, &ib};
          auto got = kernels::evaluate_node(*t.node, ins, std::string(op) == "ScaleAdd" ? "ref" : "cpu");
          ASSERT_TRUE(got.is_ok()) << got.status().to_string();
          const Tensor& g = got.value()[0];
          ASSERT_EQ(g.dtype(), DType::bf16);
          ASSERT_EQ(g.shape(), want.value()[0].shape());
          for (int64_t i = 0; i < g.numel(); ++i)
            ASSERT_EQ(g.as<uint16_t>()[i], f32_to_bf16(want.value()[0].as<float>()[i])) << "index " << i;
        }
  }
  omp_set_num_threads(1);
}

// Means of bf16 activations (a bf16 squeeze-excite's GlobalAveragePool): the f32 reference of
// the widened input, rounded to bf16, within one bf16 step (the fast kernel sums blocks of
// rows in float first, so a mean right at a rounding boundary may round the other way).
TEST(CpuKernels, MeansOfBf16) {
  uint32_t seed = 800;
  for (int threads : {1, 2})
    for (const auto& [shape, axes] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
             {{1, 20, 20, 16}, {1, 2}}, {{2, 3, 4, 5}, {3}}, {{1, 160, 160, 96}, {1, 2}}, {{2, 3, 5, 7, 8}, {2, 3}}}) {
      omp_set_num_threads(threads);
      NodeUnderTest t("ReduceMean", 1, 1, 13);
      t.attr("axes", axes).attr("keepdims", int64_t{1});
      const Tensor x = to_bf16(random_tensor(shape, seed++, 0.f, 2.f)), wx = widen(x);
      const std::vector<const Tensor*> wide = {&wx}, ins = {&x};
      auto want = kernels::evaluate_node(*t.node, wide, "ref");
      auto got = kernels::evaluate_node(*t.node, ins, "cpu");
      ASSERT_TRUE(want.is_ok() && got.is_ok()) << got.status().to_string();
      const Tensor& g = got.value()[0];
      ASSERT_EQ(g.dtype(), DType::bf16);
      for (int64_t i = 0; i < g.numel(); ++i) {
        const float w = want.value()[0].as<float>()[i], v = bf16_to_f32(g.as<uint16_t>()[i]);
        ASSERT_LE(std::fabs(v - w), std::ldexp(std::fabs(w), -8)) << "index " << i << " of " << shape.to_string();
      }
    }
  omp_set_num_threads(1);
}

TEST(CpuKernels, MeansOverContiguousAxes) {
  uint32_t seed = 300;
  // The last two are large enough to split their channels across two threads.
  for (int threads : {1, 2})
  for (const auto& [shape, axes] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{1, 20, 20, 16}, {1, 2}}, {{2, 3, 4, 5}, {3}}, {{2, 3, 4, 5}, {0}}, {{2, 3, 4, 5}, {-3, -2}},
           {{1, 160, 160, 96}, {1, 2}}, {{2, 80, 80, 40}, {1, 2}}, {{2, 3, 5, 7, 8}, {2, 3}}}) {
    omp_set_num_threads(threads);
    for (int64_t keep : {0, 1}) {
      NodeUnderTest t("ReduceMean", 1, 1, 13);
      t.attr("axes", axes).attr("keepdims", keep);
      const Tensor x = random_tensor(shape, seed++);
      compare_backends(t, {&x}, seed);
    }
  }
  NodeUnderTest gap("GlobalAveragePool", 1);
  const Tensor x = random_tensor(Shape{2, 8, 9, 7}, seed);
  compare_backends(gap, {&x}, seed);
  NodeUnderTest gapped("ReduceMean", 1, 1, 13);
  gapped.attr("axes", std::vector<int64_t>{0, 2});
  compare_backends(gapped, {&x}, seed, false);  // non-contiguous axes: declined
  omp_set_num_threads(1);
}

}  // namespace
}  // namespace ep::testing
