#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "onnx/import.h"
#include "runtime/analysis.h"

namespace ep::tools {

namespace {
std::string dims_of(const IoInfo& io) {
  std::string s;
  for (size_t i = 0; i < io.shape.rank(); ++i) {
    if (i) s += "x";
    if (io.shape[i] >= 0) s += std::to_string(io.shape[i]);
    else s += (i < io.dim_params.size() && !io.dim_params[i].empty()) ? io.dim_params[i] : "?";
  }
  return s.empty() ? "scalar" : s;
}

std::string human(double v, const char* unit) {
  char buf[64];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G%s", v / 1e9, unit);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M%s", v / 1e6, unit);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.2f K%s", v / 1e3, unit);
  else std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
  return buf;
}
}  // namespace

Runner add_inspect(CLI::App& app) {
  struct Args {
    std::string model;
    std::vector<std::string> shapes;
  };
  auto a = std::make_shared<Args>();
  app.add_option("model", a->model, "ONNX model file")->required();
  app.add_option("--shape", a->shapes, "NAME=DIMS binding an input's open dimensions, for FLOPs and output shapes");
  return [a]() {
    auto model = Model::load(a->model);
    if (!model) return report(model.status());
    auto shapes = parse_shape_args(a->shapes);
    if (!shapes) return report(shapes.status());
    const runtime::ModelSummary s = runtime::summarize(*model, *shapes);
    std::cout << "model: " << a->model << " (opset " << model->opset() << ")\n\ninputs:\n";
    for (const IoInfo& io : model->inputs())
      std::cout << "  " << io.name << "  " << dtype_name(io.dtype) << "  " << dims_of(io) << "\n";
    std::cout << "outputs:\n";
    if (s.shapes_bound) {
      for (const IoInfo& io : s.outputs) std::cout << "  " << io.name << "  " << dtype_name(io.dtype) << "  " << dims_of(io) << "\n";
    } else if (auto inferred = onnx_import::onnx_inferred_outputs(a->model)) {  // symbolic, from libonnx
      for (const auto& o : *inferred) {
        std::string dims;
        for (const std::string& d : o.dims) dims += (dims.empty() ? "" : "x") + d;
        std::cout << "  " << o.name << "  " << dtype_name(o.dtype) << "  " << (o.dims.empty() ? "?" : dims) << "\n";
      }
    } else {
      for (const IoInfo& io : model->outputs()) std::cout << "  " << io.name << "  " << dtype_name(io.dtype) << "  " << dims_of(io) << "\n";
    }
    std::vector<std::pair<std::string, int>> hist(s.op_histogram.begin(), s.op_histogram.end());
    std::sort(hist.begin(), hist.end(), [](const auto& x, const auto& y) { return x.second > y.second || (x.second == y.second && x.first < y.first); });
    int total = 0;
    for (const auto& h : hist) total += h.second;
    std::cout << "\noperators (" << total << " nodes):\n";
    for (const auto& [op, count] : hist) std::printf("  %-24s %6d\n", op.c_str(), count);
    std::cout << "\nparameters: " << human(static_cast<double>(s.parameters), "") << " (" << s.parameters << " elements, "
              << human(static_cast<double>(s.parameter_bytes), "B") << ")\n";
    if (s.shapes_bound) {
      std::cout << "FLOPs: " << human(static_cast<double>(s.total_flops), "FLOP") << " (" << s.total_flops
                << "; multiply-add = 2) over " << s.nodes.size() << " nodes after constant folding\n";
    } else {
      std::cout << "FLOPs: unknown (" << s.shape_status.message() << ")\n";
    }
    return 0;
  };
}

}  // namespace ep::tools
