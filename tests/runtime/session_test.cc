// Session behaviour on real ONNX files from Debian's libonnx-testdata.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <filesystem>
#include <map>
#include <optional>
#include <fstream>
#include <sstream>

#include "edgepipe/session.h"
#include "kernels/onednn/onednn_kernels.h"
#include "profile_util.h"
#include "onnx/import.h"
#include "onnx/model_builder.h"

namespace ep {
namespace {

const std::string kNodeTests = "/usr/share/libonnx-testdata/data/node/";

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Tensor read_pb(const std::string& path) {
  auto t = onnx_import::parse_tensor_proto(read_bytes(path), path);
  EP_CHECK_MSG(t.is_ok(), t.status().to_string().c_str());
  return std::move(t).value();
}

TEST(Session, RunsIntoCallerMemoryAndRepeats) {
  const std::string dir = kNodeTests + "test_add_bcast/";
  auto model = Model::load(dir + "model.onnx");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  const Tensor a = read_pb(dir + "test_data_set_0/input_0.pb");
  const Tensor b = read_pb(dir + "test_data_set_0/input_1.pb");
  const Tensor want = read_pb(dir + "test_data_set_0/output_0.pb");
  SessionOptions opt;
  opt.profile = true;
  auto session = Session::create(*model, opt);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  ASSERT_EQ(session->outputs().size(), 1u);
  EXPECT_EQ(session->outputs()[0].shape, want.shape());
  Tensor out(want.dtype(), want.shape());
  const TensorView ins[] = {a.view(), b.view()};
  const TensorView outs[] = {out.view()};
  for (int rep = 0; rep < 3; ++rep) {
    ASSERT_TRUE(session->run(ins, outs).is_ok());
    for (int64_t i = 0; i < want.numel(); ++i) ASSERT_FLOAT_EQ(out.as<float>()[i], want.as<float>()[i]);
  }
  const auto prof = session->profile();
  ASSERT_EQ(prof.size(), 1u);
  EXPECT_EQ(prof[0].calls, 3);
  EXPECT_EQ(prof[0].op, "Add");
}

// `m` run on `in` by an optimized (profiled) session and by an unoptimized one: the
// rewrites' oracle. Empty after a failure, which it reports.
struct TwoRuns {
  std::vector<OpProfile> profile;
  std::vector<Tensor> got, want;
};
std::optional<TwoRuns> run_optimized_and_plain(const onnx::ModelProto& m, const std::vector<Tensor>& in) {
  const std::string bytes = test_models::serialize(m);
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  if (!model.is_ok()) {
    ADD_FAILURE() << model.status().to_string();
    return std::nullopt;
  }
  TwoRuns r;
  for (bool optimize : {true, false}) {
    SessionOptions opt;
    opt.profile = true;
    opt.optimize = optimize;
    auto session = Session::create(*model, opt);
    if (!session.is_ok()) {
      ADD_FAILURE() << session.status().to_string();
      return std::nullopt;
    }
    auto out = session->run(in);
    if (!out.is_ok()) {
      ADD_FAILURE() << out.status().to_string();
      return std::nullopt;
    }
    (optimize ? r.got : r.want) = std::move(out).value();
    if (optimize) r.profile = session->profile();
  }
  return r;
}

// Twins (same op, inputs and attributes) run once: relu(T(x)) + relu(T'(x)) with T and T'
// the same transpose needs one Transpose and one Relu; a transpose with another perm stays.
// Outputs equal the unoptimized session's.
TEST(Session, CommonSubexpressionsRunOnce) {
  using namespace test_models;
  onnx::ModelProto m = new_model();
  add_input(m, "x", {1, 4, 5, 6});
  attr_ints(add_node(m, "Transpose", {"x"}, {"ta"}, "ta"), "perm", {0, 2, 3, 1});
  attr_ints(add_node(m, "Transpose", {"x"}, {"tb"}, "tb"), "perm", {0, 2, 3, 1});
  attr_ints(add_node(m, "Transpose", {"x"}, {"tc"}, "tc"), "perm", {0, 3, 1, 2});
  add_node(m, "Relu", {"ta"}, {"ra"}, "ra");
  add_node(m, "Relu", {"tb"}, {"rb"}, "rb");
  add_node(m, "Add", {"ra", "rb"}, {"y"}, "add");
  add_node(m, "Neg", {"tc"}, {"z"}, "neg");
  add_output(m, "y", TP::FLOAT, {1, 5, 6, 4});
  add_output(m, "z", TP::FLOAT, {1, 6, 4, 5});
  std::vector<Tensor> in;
  in.emplace_back(DType::f32, Shape{1, 4, 5, 6});
  for (int64_t i = 0; i < in[0].numel(); ++i) in[0].as<float>()[i] = static_cast<float>((i * 7) % 11) - 5.f;
  auto r = run_optimized_and_plain(m, in);
  ASSERT_TRUE(r.has_value());
  for (size_t k = 0; k < 2; ++k) {
    const float* g = r->got[k].as<float>();
    const float* w = r->want[k].as<float>();
    for (int64_t i = 0; i < r->want[k].numel(); ++i) ASSERT_EQ(g[i], w[i]) << "output " << k << " at " << i;
  }
  int transposes = 0, relus = 0;
  for (const OpProfile& p : r->profile) {
    transposes += p.op == "Transpose";
    relus += p.op == "Relu";
  }
  EXPECT_EQ(relus, 1);
  EXPECT_EQ(transposes, 2);
}

// x + x * s (s = sigmoid(GAP(x)), per channel) runs as one edgepipe.ScaleAdd: the only
// full-size element-wise step, bit-identical to the unoptimized session's Mul then Add.
TEST(Session, ScaleResidualRunsAsOneStep) {
  using namespace test_models;
  for (bool mul_first : {false, true}) {
    onnx::ModelProto m = new_model();
    add_input(m, "x", {1, 4, 5, 6});
    add_node(m, "GlobalAveragePool", {"x"}, {"g"}, "gap");
    add_node(m, "Sigmoid", {"g"}, {"s"}, "sig");
    add_node(m, "Mul", mul_first ? std::vector<std::string>{"s", "x"} : std::vector<std::string>{"x", "s"}, {"xs"}, "mul");
    add_node(m, "Add", mul_first ? std::vector<std::string>{"xs", "x"} : std::vector<std::string>{"x", "xs"}, {"y"}, "add");
    add_output(m, "y", TP::FLOAT, {1, 4, 5, 6});
    std::vector<Tensor> in;
    in.emplace_back(DType::f32, Shape{1, 4, 5, 6});
    for (int64_t i = 0; i < in[0].numel(); ++i) in[0].as<float>()[i] = static_cast<float>((i * 13) % 17) * 0.37f - 3.f;
    auto r = run_optimized_and_plain(m, in);
    ASSERT_TRUE(r.has_value());
    for (int64_t i = 0; i < in[0].numel(); ++i) ASSERT_EQ(r->got[0].as<float>()[i], r->want[0].as<float>()[i]) << "at " << i;
    int full_size = 0;
    for (const OpProfile& p : r->profile)
      if ((p.op == "Mul" || p.op == "Add" || p.op == "ScaleAdd") && p.output_shapes[0].numel() == in[0].numel()) {
        ++full_size;
        EXPECT_EQ(p.op, "ScaleAdd");
      }
    EXPECT_EQ(full_size, 1) << (mul_first ? "Mul(s, x) first" : "Add(x, Mul(x, s))");
  }
}

// A YOLO-style detect head: Conv (run in NHWC) -> Reshape splitting channels 6 -> 2x3 ->
// Transpose(0,1,3,4,2) -> Sigmoid. The Sigmoid becomes the conv's post-op from behind the
// Reshape and Transpose (fuse_conv), and the layout pass moves the NHWC->NCHW Transpose
// through the Reshape and merges it with the model's own: one Transpose after the conv
// instead of two.
TEST(Session, TransposeMovesThroughSplittingReshape) {
  using namespace test_models;
  onnx::ModelProto m = new_model();
  add_input(m, "x", {1, 2, 5, 4});
  add_init(m, "w", {6, 2, 3, 3});
  add_init(m, "b", {6});
  add_init_i64(m, "shape", {1, 2, 3, 5, 4});
  auto* conv = add_node(m, "Conv", {"x", "w", "b"}, {"c"}, "conv");
  attr_ints(conv, "kernel_shape", {3, 3});
  attr_ints(conv, "pads", {1, 1, 1, 1});
  add_node(m, "Reshape", {"c", "shape"}, {"r"}, "reshape");
  attr_ints(add_node(m, "Transpose", {"r"}, {"t"}, "t"), "perm", {0, 1, 3, 4, 2});
  add_node(m, "Sigmoid", {"t"}, {"y"}, "sig");
  add_output(m, "y", TP::FLOAT, {1, 2, 5, 4, 3});
  std::vector<Tensor> in;
  in.emplace_back(DType::f32, Shape{1, 2, 5, 4});
  for (int64_t i = 0; i < in[0].numel(); ++i) in[0].as<float>()[i] = static_cast<float>((i * 5) % 9) * 0.3f - 1.f;
  auto r = run_optimized_and_plain(m, in);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->got[0].shape(), r->want[0].shape());
  for (int64_t i = 0; i < r->want[0].numel(); ++i)
    ASSERT_NEAR(r->got[0].as<float>()[i], r->want[0].as<float>()[i], 1e-5f) << "at " << i;
  int after_conv = 0;
  bool seen_conv = false;
  for (const OpProfile& p : r->profile) {
    seen_conv = seen_conv || p.op == "FusedConv";
    after_conv += seen_conv && p.op == "Transpose";
    EXPECT_NE(p.op, "Sigmoid");
  }
  EXPECT_EQ(after_conv, 1);
}

// A block of the layouts the blocked pass carries (passes/layout_blocked.cc): dense and
// depthwise convs, a per-channel Add, squeeze-excite (GlobalAveragePool, 1x1 convs,
// HardSigmoid, Mul) whose 4-channel middle stays NHWC, Concat along channels, MaxPool,
// nearest Resize, a residual Add, a 12-channel tensor (padded to two blocks) between convs.
// With blocked_layout "on" the block runs on nChw8c from the first conv (3 input channels)
// to the last (4 output channels), leaving it only for the SE's middle, and its output
// matches the unoptimized reference session's.
onnx::ModelProto blocked_region_model() {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 3, 10, 12});
  add_conv(m, "x", "c0", 16, 3, 3, 1);
  add_node(m, "Relu", {"c0"}, {"r0"}, "relu0");
  add_conv(m, "r0", "c1", 16, 16, 3, 1);
  add_conv(m, "c1", "dw", 16, 1, 3, 16);
  add_node(m, "GlobalAveragePool", {"dw"}, {"gap"}, "gap");
  add_conv(m, "gap", "se1", 4, 16, 1, 1);  // 4 channels: below a block, the SE convs stay NHWC
  add_node(m, "Relu", {"se1"}, {"se1r"}, "se_relu");
  add_conv(m, "se1r", "se2", 16, 4, 1, 1);
  add_node(m, "HardSigmoid", {"se2"}, {"se"}, "se_hs");
  add_node(m, "Mul", {"dw", "se"}, {"excited"}, "se_mul");
  attr_int(add_node(m, "Concat", {"excited", "c1"}, {"cat"}, "cat"), "axis", 1);
  auto* pool = add_node(m, "MaxPool", {"cat"}, {"pooled"}, "pool");
  attr_ints(pool, "kernel_shape", {3, 3});
  attr_ints(pool, "pads", {1, 1, 1, 1});
  attr_ints(pool, "strides", {2, 2});
  add_init(m, "scales", {4});
  m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1)->clear_float_data();
  for (float v : {1.f, 1.f, 2.f, 2.f}) m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1)->add_float_data(v);
  add_init(m, "shift", {32, 1, 1});  // per channel, after a pool: no conv to fold it into
  add_node(m, "Add", {"pooled", "shift"}, {"shifted"}, "add_shift");
  auto* resize = add_node(m, "Resize", {"shifted", "", "scales"}, {"up"}, "resize");
  attr_string(resize, "mode", "nearest");
  add_conv(m, "up", "narrow", 12, 32, 1, 1);  // 12 channels: the second block half padding
  add_node(m, "Sigmoid", {"narrow"}, {"narrow_s"}, "narrow_sigmoid");
  add_node(m, "MaxPool", {"narrow_s"}, {"narrow_p"}, "narrow_pool");
  attr_ints(m.mutable_graph()->mutable_node(m.graph().node_size() - 1), "kernel_shape", {1, 1});
  add_conv(m, "narrow_p", "c2", 16, 12, 3, 1);
  add_node(m, "Add", {"c2", "c1"}, {"res"}, "residual");
  add_conv(m, "res", "y", 4, 16, 3, 1);
  add_output(m, "y", TP::FLOAT, {1, 4, 10, 12});
  return m;
}

// Runs `m` on a ramp input of `shape` in the unoptimized reference session and in one
// session per entry of `options` (profiled); expects each one's output within 2e-5 of the
// reference's largest magnitude and returns each one's profile (empty on failure).
std::vector<std::vector<OpProfile>> run_against_reference(const onnx::ModelProto& m, const Shape& shape,
                                                          std::vector<SessionOptions> options) {
  std::vector<std::vector<OpProfile>> profiles(options.size());
  const std::string bytes = test_models::serialize(m);
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  if (!model.is_ok()) return profiles;
  std::vector<Tensor> in;
  in.emplace_back(DType::f32, shape);
  for (int64_t i = 0; i < in[0].numel(); ++i) in[0].as<float>()[i] = static_cast<float>((i * 7) % 23) * 0.09f - 1.f;
  SessionOptions ref_opt;
  ref_opt.backend = "ref";
  ref_opt.optimize = false;
  auto ref = Session::create(*model, ref_opt);
  EXPECT_TRUE(ref.is_ok()) << ref.status().to_string();
  if (!ref.is_ok()) return profiles;
  auto want = ref->run(in);
  EXPECT_TRUE(want.is_ok()) << want.status().to_string();
  if (!want.is_ok()) return profiles;
  const Tensor& w = want->at(0);
  float scale = 1.f;
  for (int64_t i = 0; i < w.numel(); ++i) scale = std::max(scale, std::fabs(w.as<float>()[i]));
  for (size_t k = 0; k < options.size(); ++k) {
    options[k].profile = true;
    auto session = Session::create(*model, options[k]);
    EXPECT_TRUE(session.is_ok()) << session.status().to_string();
    if (!session.is_ok()) continue;
    auto got = session->run(in);
    EXPECT_TRUE(got.is_ok()) << got.status().to_string();
    if (!got.is_ok()) continue;
    EXPECT_EQ(got->at(0).shape(), w.shape());
    if (got->at(0).shape() != w.shape()) continue;
    int64_t bad = 0;
    for (int64_t i = 0; i < w.numel(); ++i)
      if (std::fabs(got->at(0).as<float>()[i] - w.as<float>()[i]) > 2e-5f * scale && bad++ == 0)
        ADD_FAILURE() << "options " << k << ": at " << i << " got " << got->at(0).as<float>()[i] << " want "
                      << w.as<float>()[i];
    EXPECT_EQ(bad, 0) << "options " << k;
    profiles[k] = session->profile();
  }
  return profiles;
}

TEST(Session, BlockedLayoutRegionMatchesReference) {
  std::vector<SessionOptions> options(2);
  options[0].blocked_layout = "on";
  options[1].blocked_layout = "off";
  const auto profiles = run_against_reference(blocked_region_model(), Shape{1, 3, 10, 12}, options);
  for (size_t k = 0; k < options.size(); ++k) {
    const std::string mode = options[k].blocked_layout;
    int to_blocked = 0, from_blocked = 0, blocked_convs = 0;
    for (const OpProfile& p : profiles[k]) {
      to_blocked += p.op == "ToBlocked";
      from_blocked += p.op == "FromBlocked";
      if (p.op == "FusedConv" && p.output_shapes[0].rank() == 5) ++blocked_convs;
    }
    if (mode == "on") {
      // In: c0's output and the SE scale (one pixel); out: the pooled SE input and y's input.
      EXPECT_EQ(to_blocked, 2);
      EXPECT_EQ(from_blocked, 2);
      EXPECT_EQ(blocked_convs, 4);  // c1, dw, narrow, c2 (c0 reads 3 channels, y writes 4, se1 4)
    } else {
      EXPECT_EQ(to_blocked + from_blocked + blocked_convs, 0);
    }
  }
}

// An FPN-style top-down add: a lateral (conv, max-pool) + nearest 2x upsample of a stride-2 conv
// (asymmetric floor and the default half_pixel round_prefer_floor, by scales and by sizes).
// The Add and the Resize become one edgepipe.ResizeAdd step; outputs match the reference
// session, at one and two threads. (A lateral straight from a conv takes the upsampled tensor
// as its residual instead.)
TEST(Session, ResizeThenAddRunAsOneStep) {
  using namespace test_models;
  for (int form = 0; form < 3; ++form) {
    SCOPED_TRACE("form " + std::to_string(form));
    onnx::ModelProto m = new_model(13);
    add_input(m, "x", {1, 16, 24, 30});
    add_conv(m, "x", "lat", 16, 16, 3);
    add_conv(m, "x", "top", 16, 16, 3, 1, 2);
    auto* pool = add_node(m, "MaxPool", {"lat"}, {"latp"}, "pool");  // not a conv: no residual to take
    attr_ints(pool, "kernel_shape", {3, 3});
    attr_ints(pool, "pads", {1, 1, 1, 1});
    onnx::NodeProto* r;
    if (form == 2) {
      add_init_i64(m, "sizes", {1, 16, 24, 30});
      r = add_node(m, "Resize", {"top", "", "", "sizes"}, {"up"}, "resize");
    } else {
      TP* scales = add_init(m, "scales", {4});
      for (int i = 0; i < 4; ++i) scales->set_float_data(i, i < 2 ? 1.f : 2.f);
      r = add_node(m, "Resize", {"top", "", "scales"}, {"up"}, "resize");
    }
    attr_string(r, "mode", "nearest");
    if (form == 0) {
      attr_string(r, "coordinate_transformation_mode", "asymmetric");
      attr_string(r, "nearest_mode", "floor");
    }
    add_node(m, "Add", {"latp", "up"}, {"y"}, "add");
    add_output(m, "y", TP::FLOAT, {1, 16, 24, 30});
    std::vector<SessionOptions> options(2);
    options[0].threads = 1;
    options[1].threads = 2;
    const auto profiles = run_against_reference(m, Shape{1, 16, 24, 30}, options);
    for (const auto& profile : profiles) {
      std::string ops;
      for (const OpProfile& p : profile) ops += p.op + " ";
      EXPECT_EQ(count_ops(profile, "ResizeAdd"), 1) << ops;
      EXPECT_EQ(count_ops(profile, "Resize") + count_ops(profile, "Add"), 0) << ops;
    }
  }
}

// oneDNN ranks brgconv/brdgmm first where its direct kernels are faster on AVX-512
// (fused_conv.cc's rule): a 3-channel 3x3 stem runs on "jit:", an NHWC depthwise layer of 72
// channels on "jit_dw", never on brdgmm_dw (the rule once tested the wrong name prefix and
// nothing noticed: outputs are the same either way). The profile names the implementation.
TEST(Session, StemAndDepthwiseConvsTakeOnednnsDirectKernels) {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 3, 56, 56});
  add_conv(m, "x", "stem", 72, 3, 3);
  add_node(m, "Relu", {"stem"}, {"sr"}, "relu");
  add_conv(m, "sr", "dw", 72, 1, 3, 72);
  add_output(m, "dw", TP::FLOAT, {1, 72, 56, 56});
  std::vector<SessionOptions> options(1);
  options[0].threads = 1;
  const auto profiles = run_against_reference(m, Shape{1, 3, 56, 56}, options);
  ASSERT_EQ(profiles.size(), 1u);
  std::map<std::string, std::string> impl;
  for (const OpProfile& p : profiles[0])
    if (p.op == "FusedConv") impl[p.node] = p.implementation;
  ASSERT_EQ(impl.size(), 2u);
  for (const auto& [node, name] : impl) {
    SCOPED_TRACE(node + ": " + name);
    EXPECT_EQ(name.rfind("onednn:", 0), 0u);
    EXPECT_EQ(name.find("brdgmm"), std::string::npos);
    EXPECT_EQ(name.find("brg"), std::string::npos);
  }
  if (!kernels::onednn_without_avx512()) {
    EXPECT_EQ(impl["stem"].rfind("onednn:jit:", 0), 0u) << impl["stem"];
    EXPECT_EQ(impl["dw"].rfind("onednn:jit_dw:", 0), 0u) << impl["dw"];
  }
}

// A DB head's input: the lateral map and three coarser maps upsampled 2x, 4x (one by scales, one
// by sizes) concatenated along channels: one edgepipe.ResizeConcat step in place of the
// Resizes and the Concat; outputs match the reference session.
TEST(Session, UpsampledMapsConcatenateAsOneStep) {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 8, 16, 20});
  add_conv(m, "x", "p2", 8, 8, 3);
  add_conv(m, "x", "p3", 8, 8, 3, 1, 2);
  add_conv(m, "x", "p4", 8, 8, 3, 1, 4);
  TP* scales = add_init(m, "scales", {4});
  for (int i = 0; i < 4; ++i) scales->set_float_data(i, i < 2 ? 1.f : 2.f);
  add_init_i64(m, "sizes", {1, 8, 16, 20});
  auto* r3 = add_node(m, "Resize", {"p3", "", "scales"}, {"u3"}, "up3");
  auto* r4 = add_node(m, "Resize", {"p4", "", "", "sizes"}, {"u4"}, "up4");
  for (auto* r : {r3, r4}) {
    attr_string(r, "mode", "nearest");
    attr_string(r, "coordinate_transformation_mode", "asymmetric");
    attr_string(r, "nearest_mode", "floor");
  }
  auto* cat = add_node(m, "Concat", {"u4", "p2", "u3"}, {"y"}, "cat");
  attr_int(cat, "axis", 1);
  add_output(m, "y", TP::FLOAT, {1, 24, 16, 20});
  std::vector<SessionOptions> options(2);
  options[0].threads = 1;
  options[1].threads = 2;
  const auto profiles = run_against_reference(m, Shape{1, 8, 16, 20}, options);
  for (const auto& profile : profiles) {
    std::string ops;
    for (const OpProfile& p : profile) ops += p.op + " ";
    EXPECT_EQ(count_ops(profile, "ResizeConcat"), 1) << ops;
    EXPECT_EQ(count_ops(profile, "Resize") + count_ops(profile, "Concat"), 0) << ops;
  }
}

// An inverted-residual head: 1x1 16 -> 64 + BatchNorm + ReLU6 (Clip), then a 3x3 stride-2
// depthwise + ReLU, then a 1x1 projection. The expanded tensor (64 x 96 x 100, 2.5 MB) is
// over the pass's threshold: on CPUs without AVX-512 the first two run as one
// edgepipe.FusedConvDepthwise step, in bands; the result matches the reference session.
TEST(Session, ExpandAndDepthwiseRunAsOneStep) {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 16, 96, 100});
  add_conv(m, "x", "expand", 64, 16, 1, 1, 1);
  for (const char* t : {"bn_scale", "bn_bias", "bn_mean", "bn_var"}) add_init(m, t, {64});
  auto* var = m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1);
  for (int i = 0; i < 64; ++i) var->set_float_data(i, 0.5f + 0.1f * static_cast<float>(i % 5));
  add_node(m, "BatchNormalization", {"expand", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"bn"}, "bn");
  add_init(m, "lo", {}, 1);
  add_init(m, "hi", {}, 1);
  m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 2)->set_float_data(0, 0.f);
  m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1)->set_float_data(0, 6.f);
  add_node(m, "Clip", {"bn", "lo", "hi"}, {"e"}, "relu6");
  add_conv(m, "e", "dw", 64, 1, 3, 64, 2);
  add_node(m, "Relu", {"dw"}, {"d"}, "relu");
  add_conv(m, "d", "y", 24, 64, 1, 1, 1);
  add_output(m, "y", TP::FLOAT, {1, 24, 48, 50});
  std::vector<SessionOptions> options(2);
  options[0].threads = 1;
  options[1].threads = 2;
  const auto profiles = run_against_reference(m, Shape{1, 16, 96, 100}, options);
  for (const auto& profile : profiles) {
    const int fused = count_ops(profile, "FusedConvDepthwise"), convs = count_ops(profile, "FusedConv");
    if (kernels::onednn_without_avx512()) {
      EXPECT_EQ(fused, 1);
      EXPECT_EQ(convs, 1);  // the projection
    } else {
      EXPECT_EQ(fused + convs, 3);
    }
  }
}

Result<Model> load_model(const onnx::ModelProto& m) {
  const std::string bytes = test_models::serialize(m);
  return Model::load_from_memory(bytes.data(), bytes.size());
}

// A BatchNormalization whose mean and beta nearly cancel (4096.3 against 4096.55): folded into
// the conv in float, beta - mean * scale loses ~2e-4 to the rounding of a product near 4096
// (and w * scale rounds twice); folded in double and rounded once, the fused model (reference
// kernels, so the fold is all that differs) matches the float64 evaluation of the unfused
// model within 1e-6. With the float fold this failed by ~1e-4.
TEST(Session, BatchNormFoldsInDouble) {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 2, 3, 3});
  TP* w = add_init(m, "w", {2, 2, 1, 1});
  const float wv[4] = {1.f, 0.5f, 0.25f, -1.f};
  for (int i = 0; i < 4; ++i) w->set_float_data(i, wv[i]);
  TP* b = add_init(m, "b", {2});
  b->set_float_data(0, 0.125f);
  b->set_float_data(1, -0.375f);
  auto* c = add_node(m, "Conv", {"x", "w", "b"}, {"c"}, "conv");
  attr_ints(c, "kernel_shape", {1, 1});
  const float gamma[2] = {0.7f, 1.3f}, beta[2] = {4096.55f, -3000.45f}, mean[2] = {4096.3f, -3000.2f},
              var[2] = {0.49f, 1.69f};
  const float* params[4] = {gamma, beta, mean, var};
  const char* names[4] = {"g", "be", "mu", "var"};
  for (int k = 0; k < 4; ++k) {
    TP* t = add_init(m, names[k], {2});
    for (int i = 0; i < 2; ++i) t->set_float_data(i, params[k][i]);
  }
  add_node(m, "BatchNormalization", {"c", "g", "be", "mu", "var"}, {"y"}, "bn");
  add_output(m, "y", TP::FLOAT, {1, 2, 3, 3});
  auto model = load_model(m);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  std::vector<Tensor> in;
  in.emplace_back(DType::f32, Shape{1, 2, 3, 3});
  for (int64_t i = 0; i < 18; ++i) in[0].as<float>()[i] = static_cast<float>(i % 7) * 0.75f - 2.f;
  SessionOptions f64_opt, fused_opt;
  f64_opt.reference_f64 = true;
  fused_opt.backend = "ref";  // graph rewrites on, reference kernels
  auto f64 = Session::create(*model, f64_opt);
  auto fused = Session::create(*model, fused_opt);
  ASSERT_TRUE(f64.is_ok() && fused.is_ok());
  std::vector<Tensor> in64;
  in64.emplace_back(DType::f64, Shape{1, 2, 3, 3});
  for (int64_t i = 0; i < 18; ++i) in64[0].as<double>()[i] = in[0].as<float>()[i];
  auto want = f64->run(in64);
  auto got = fused->run(in);
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  int convs = 0, bns = 0;
  for (const OpProfile& p : fused->profile()) {
    convs += p.op == "FusedConv";
    bns += p.op == "BatchNormalization";
  }
  EXPECT_EQ(convs, 1);
  EXPECT_EQ(bns, 0);  // folded
  for (int64_t i = 0; i < 18; ++i)
    EXPECT_NEAR(got.value()[0].as<float>()[i], want.value()[0].as<double>()[i], 1e-6) << i;
}

// x[i] = i / 2 - 3 over a 2x6 tensor: negative, zero and positive inputs.
Tensor ramp_2x6() {
  Tensor t(DType::f32, Shape{2, 6});
  for (int64_t i = 0; i < 12; ++i) t.as<float>()[i] = static_cast<float>(i) * 0.5f - 3.f;
  return t;
}

// A Reshape between two arena tensors runs as a view of its input's buffer, which must then
// stay live until the view's last reader: tensors computed in between (same size, so the
// planner would love to reuse that buffer) must not overwrite it.
TEST(Session, ReshapeViewKeepsItsBufferAlive) {
  using namespace test_models;
  onnx::ModelProto m = new_model();
  add_input(m, "x", {2, 6});
  add_init_i64(m, "s34", {3, 4});
  add_init_i64(m, "s26", {2, 6});
  add_node(m, "Relu", {"x"}, {"a"}, "relu");
  add_node(m, "Reshape", {"a", "s34"}, {"b"}, "view");
  add_node(m, "Neg", {"x"}, {"e1"}, "neg");
  add_node(m, "Exp", {"e1"}, {"e2"}, "exp");
  add_node(m, "Sigmoid", {"e2"}, {"e3"}, "sig");
  add_node(m, "Reshape", {"b", "s26"}, {"b2"}, "view_back");
  add_node(m, "Add", {"b2", "e3"}, {"y"}, "add");
  add_output(m, "y", TP::FLOAT, {2, 6});
  auto model = load_model(m);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  std::vector<Tensor> in;
  in.push_back(ramp_2x6());
  SessionOptions opt;
  opt.profile = true;
  auto fast = Session::create(*model, opt);
  ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
  for (int rep = 0; rep < 2; ++rep) {
    auto got = fast->run(in);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    for (int64_t i = 0; i < 12; ++i) {  // y = relu(x) + sigmoid(exp(-x)), in double
      const double x = in[0].as<float>()[i];
      const double want = std::max(x, 0.0) + 1.0 / (1.0 + std::exp(-std::exp(-x)));
      ASSERT_NEAR(got.value()[0].as<float>()[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << i;
    }
  }
  int views = 0;
  for (const OpProfile& p : fast->profile()) views += p.kernel == "view";
  EXPECT_EQ(views, 2);
}

// Element-wise steps write over an input nobody reads after them, and only then: the Sigmoid
// must not write over a (the Add still reads it); the Add and the Tanh write in place. Checked
// against values computed in double, and by the arena: two 48-byte buffers (64 each aligned)
// instead of three.
TEST(Session, ElementwiseStepsWriteOverDeadInputsOnly) {
  using namespace test_models;
  onnx::ModelProto m = new_model();
  add_input(m, "x", {2, 6});
  add_node(m, "Relu", {"x"}, {"a"}, "relu");
  add_node(m, "Sigmoid", {"a"}, {"b"}, "sig");
  add_node(m, "Add", {"b", "a"}, {"c"}, "add");
  add_node(m, "Tanh", {"c"}, {"d"}, "tanh");
  add_node(m, "Mul", {"d", "d"}, {"y"}, "square");
  add_output(m, "y", TP::FLOAT, {2, 6});
  auto model = load_model(m);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  std::vector<Tensor> in;
  in.push_back(ramp_2x6());
  for (const char* backend : {"auto", "ref"}) {
    SessionOptions opt;
    opt.backend = backend;
    auto session = Session::create(*model, opt);
    ASSERT_TRUE(session.is_ok()) << session.status().to_string();
    EXPECT_EQ(session->arena_bytes(), 128u) << backend;
    for (int rep = 0; rep < 2; ++rep) {
      auto got = session->run(in);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      for (int64_t i = 0; i < 12; ++i) {
        const double a = std::max<double>(in[0].as<float>()[i], 0.0);
        const double d = std::tanh(1.0 / (1.0 + std::exp(-a)) + a);
        ASSERT_NEAR(got.value()[0].as<float>()[i], d * d, 1e-6) << backend << " " << i;
      }
    }
  }
}

// Bottlenecks whose residual add folds into the last conv, whose kernel (oneDNN's sum post-op)
// may write its output over the residual. It may only when nothing reads the residual later
// and the residual is not also the conv's input: `a` read again after the conv (tap), and
// c = conv2(a) + a (same), must keep `a` intact. Outputs equal the unoptimized session's.
// (On ResNet-50 the overwrite takes the arena from 14.2 to 13.0 MiB.)
TEST(Session, ResidualConvWritesOverADeadResidualOnly) {
  using namespace test_models;
  enum Variant { dead, tap, same };
  for (Variant v : {dead, tap, same}) {
    onnx::ModelProto m = new_model();
    add_input(m, "x", {1, 16, 12, 10});
    add_init(m, "w1", {32, 16, 1, 1});
    add_init(m, "w2", {32, 32, 3, 3});
    add_init(m, "b2", {32});
    attr_ints(add_node(m, "Conv", {"x", "w1"}, {"a"}, "conv1"), "kernel_shape", {1, 1});
    add_node(m, "Relu", {"a"}, {"r"}, "relu1");
    // 3x3 dilated (oneDNN's direct kernel, not Winograd): each output reads its neighbours.
    auto* conv2 = add_node(m, "Conv", {v == same ? "a" : "r", "w2", "b2"}, {"c"}, "conv2");
    attr_ints(conv2, "kernel_shape", {3, 3});
    attr_ints(conv2, "dilations", {2, 2});
    attr_ints(conv2, "pads", {2, 2, 2, 2});
    add_node(m, "Add", {"c", "a"}, {"d"}, "add");
    add_node(m, "Relu", {"d"}, {"e"}, "relu2");
    if (v == tap)
      add_node(m, "Mul", {"e", "a"}, {"y"}, "tap");
    else
      add_node(m, "Sigmoid", {"e"}, {"y"}, "sig");
    add_output(m, "y", TP::FLOAT, {1, 32, 12, 10});
    std::vector<Tensor> in;
    in.emplace_back(DType::f32, Shape{1, 16, 12, 10});
    for (int64_t i = 0; i < in[0].numel(); ++i) in[0].as<float>()[i] = static_cast<float>((i * 7) % 13) * 0.2f - 1.2f;
    auto r = run_optimized_and_plain(m, in);
    ASSERT_TRUE(r.has_value());
    for (int64_t i = 0; i < r->want[0].numel(); ++i)
      ASSERT_NEAR(r->got[0].as<float>()[i], r->want[0].as<float>()[i], 1e-5f * (1.f + std::fabs(r->want[0].as<float>()[i])))
          << "variant " << v << " at " << i;
  }
}

TEST(Session, RejectsWrongRunArguments) {
  const std::string dir = kNodeTests + "test_add_bcast/";
  auto model = Model::load(dir + "model.onnx");
  ASSERT_TRUE(model.is_ok());
  auto session = Session::create(*model);
  ASSERT_TRUE(session.is_ok());
  const Tensor a = read_pb(dir + "test_data_set_0/input_0.pb");
  const Tensor b = read_pb(dir + "test_data_set_0/input_1.pb");
  Tensor out(DType::f32, session->outputs()[0].shape);
  Tensor wrong_shape(DType::f32, Shape{2, 2});
  Tensor wrong_dtype(DType::i32, a.shape());
  const TensorView outs[] = {out.view()};
  {
    const TensorView ins[] = {a.view()};
    EXPECT_EQ(session->run(ins, outs).code(), StatusCode::invalid_argument);
  }
  {
    const TensorView ins[] = {a.view(), wrong_shape.view()};
    Status st = session->run(ins, outs);
    EXPECT_EQ(st.code(), StatusCode::invalid_argument);
    EXPECT_NE(st.message().find("shape 2x2"), std::string::npos) << st.message();
  }
  {
    const TensorView ins[] = {wrong_dtype.view(), b.view()};
    EXPECT_EQ(session->run(ins, outs).code(), StatusCode::invalid_argument);
  }
}

TEST(OnnxShapeInference, OutputShapesMatchTheTestData) {
  const std::string dir = kNodeTests + "test_add_bcast/";
  auto outs = onnx_import::onnx_inferred_outputs(dir + "model.onnx");
  ASSERT_TRUE(outs.is_ok()) << outs.status().to_string();
  ASSERT_EQ(outs->size(), 1u);
  const Tensor want = read_pb(dir + "test_data_set_0/output_0.pb");
  ASSERT_EQ((*outs)[0].dims.size(), want.shape().rank());
  for (size_t i = 0; i < want.shape().rank(); ++i) EXPECT_EQ((*outs)[0].dims[i], std::to_string(want.shape()[i]));
  EXPECT_EQ((*outs)[0].dtype, want.dtype());
  EXPECT_FALSE(onnx_import::onnx_inferred_outputs("/nonexistent.onnx").is_ok());
}

TEST(Session, MissingModelFileNamesThePath) {
  auto model = Model::load("/nonexistent/dir/m.onnx");
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::io_error);
  EXPECT_NE(model.status().message().find("/nonexistent/dir/m.onnx"), std::string::npos);
}

TEST(Session, RejectsBadOptions) {
  auto model = Model::load(kNodeTests + "test_add_bcast/model.onnx");
  ASSERT_TRUE(model.is_ok());
  SessionOptions opt;
  opt.threads = 0;
  EXPECT_EQ(Session::create(*model, opt).status().code(), StatusCode::invalid_argument);
  opt.threads = 1;
  opt.blocked_layout = "sometimes";
  EXPECT_EQ(Session::create(*model, opt).status().code(), StatusCode::invalid_argument);
  opt.blocked_layout = "off";
  opt.input_shapes["nope"] = Shape{1};
  auto s = Session::create(*model, opt);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("'nope'"), std::string::npos);
}

}  // namespace
}  // namespace ep
