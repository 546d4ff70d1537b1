// `edgepipe det-iou`: how far a lower-precision detector strays from FP32. Both run on the
// same synthetic text scenes, pre-processed as the text_detect stage does; their probability
// maps are binarized at the DBNet threshold and compared by intersection over union.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "pipeline/preprocess.h"
#include "pipeline/synthetic.h"

namespace ep::tools {

namespace {
struct DetIouArgs {
  std::string reference, candidate, precision = "fp32";
  int frames = 8, size = 640, threads = 1;
  double threshold = 0.3;
  uint64_t seed = 1;
  bool json = false;
};

Result<Session> det_session(const std::string& path, const std::string& precision, int size, int threads) {
  EP_ASSIGN_OR_RETURN(Model model, Model::load(path));
  if (model.inputs().size() != 1) return invalid_model("model '", path, "': expected one input");
  SessionOptions opt;
  opt.threads = threads;
  opt.precision = precision;
  opt.input_shapes[model.inputs()[0].name] = Shape{1, 3, size, size};
  EP_ASSIGN_OR_RETURN(Session s, Session::create(model, opt));
  if (s.outputs().size() != 1 || s.outputs()[0].dtype != DType::f32)
    return invalid_model("model '", path, "': expected one f32 probability map");
  return s;
}

Status det_iou(const DetIouArgs& a) {
  EP_ASSIGN_OR_RETURN(Session ref, det_session(a.reference, "fp32", a.size, a.threads));
  EP_ASSIGN_OR_RETURN(Session cand, det_session(a.candidate.empty() ? a.reference : a.candidate, a.precision, a.size, a.threads));
  if (cand.outputs()[0].shape != ref.outputs()[0].shape)
    return invalid_argument("the candidate's output ", cand.outputs()[0].shape.to_string(), " differs from the reference's ",
                            ref.outputs()[0].shape.to_string());
  pipeline::SyntheticOptions so;
  so.width = so.height = a.size;
  so.seed = a.seed;
  EP_ASSIGN_OR_RETURN(pipeline::SyntheticScene scenes, pipeline::SyntheticScene::create(so));
  pipeline::PreprocessSpec spec;  // as TextDetector::detect
  spec.width = spec.height = a.size;
  spec.color = pipeline::ColorOrder::bgr;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};
  Tensor input(DType::f32, Shape{1, 3, a.size, a.size});
  Tensor p_ref(DType::f32, ref.outputs()[0].shape), p_cand(DType::f32, ref.outputs()[0].shape);
  int64_t inter_all = 0, union_all = 0;
  double min_iou = 1, max_diff = 0;
  nlohmann::json per_frame = nlohmann::json::array();
  for (int f = 0; f < a.frames; ++f) {
    pipeline::SourceImage img;
    EP_RETURN_IF_ERROR(scenes.render(f, img));
    EP_RETURN_IF_ERROR(pipeline::preprocess_into(img.image, spec, input.view()).status());
    const TensorView in[] = {input.view()};
    const TensorView out_ref[] = {p_ref.view()}, out_cand[] = {p_cand.view()};
    EP_RETURN_IF_ERROR(ref.run(in, out_ref));
    EP_RETURN_IF_ERROR(cand.run(in, out_cand));
    int64_t inter = 0, uni = 0;
    for (int64_t i = 0; i < p_ref.numel(); ++i) {
      const float r = p_ref.as<float>()[i], c = p_cand.as<float>()[i];
      const bool br = r > a.threshold, bc = c > a.threshold;
      inter += br && bc;
      uni += br || bc;
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(r - c)));
    }
    const double iou = uni ? static_cast<double>(inter) / static_cast<double>(uni) : 1.0;
    min_iou = std::min(min_iou, iou);
    inter_all += inter;
    union_all += uni;
    per_frame.push_back({{"frame", f}, {"iou", iou}, {"reference_pixels", uni}});
    if (!a.json) std::printf("frame %d: IoU %.4f (%lld pixels in the union)\n", f, iou, static_cast<long long>(uni));
  }
  const double iou = union_all ? static_cast<double>(inter_all) / static_cast<double>(union_all) : 1.0;
  if (a.json) {
    std::cout << nlohmann::json{{"reference", a.reference}, {"candidate", a.candidate.empty() ? a.reference : a.candidate},
                                {"precision", a.precision}, {"frames", a.frames}, {"size", a.size},
                                {"threshold", a.threshold}, {"iou", iou}, {"min_frame_iou", min_iou},
                                {"max_abs_diff", max_diff}, {"per_frame", per_frame}}.dump()
              << "\n";
  } else {
    std::printf("IoU over %d frames: %.4f (worst frame %.4f), largest probability difference %.4f\n", a.frames, iou,
                min_iou, max_diff);
  }
  return Status::ok();
}
}  // namespace

Runner add_det_iou(CLI::App& app) {
  auto a = std::make_shared<DetIouArgs>();
  app.add_option("reference", a->reference, "FP32 DBNet detector (.onnx), run in fp32")->required();
  app.add_option("--candidate", a->candidate, "detector to compare (default: the reference), e.g. a QDQ model");
  app.add_option("--precision", a->precision, "the candidate's precision: fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--frames", a->frames, "synthetic scenes")->check(CLI::Range(1, 10000));
  app.add_option("--size", a->size, "square input side (multiple of 32)")->check(CLI::Range(32, 4096));
  app.add_option("--threshold", a->threshold, "binarization threshold")->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", a->seed, "synthetic scene seed");
  app.add_option("--threads", a->threads, "threads")->check(CLI::Range(1, 1024));
  app.add_flag("--json", a->json, "print one JSON object");
  return [a]() {
    const Status st = det_iou(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
