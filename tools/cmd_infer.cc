#include <filesystem>
#include <iostream>

#include "commands.h"
#include "edgepipe/npy.h"

namespace ep::tools {

namespace {
struct InferArgs {
  std::string model, output_dir = ".";
  std::vector<std::string> inputs;
  int threads = 1;
  std::string backend = "auto";
  std::string precision = "fp32";
  std::string conv_algorithm = "auto";
  bool no_optimize = false;
  bool reference_f64 = false;
};

Tensor convert(const Tensor& t, DType to) {
  Tensor r(to, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = view_get_f64(t.view(), i);
    if (to == DType::f64) r.as<double>()[i] = v;
    else r.as<float>()[i] = static_cast<float>(v);
  }
  return r;
}

Status infer(const InferArgs& a) {
  EP_ASSIGN_OR_RETURN(Model model, Model::load(a.model));
  std::map<std::string, Tensor> given;
  for (const std::string& arg : a.inputs) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) return invalid_argument("--input '", arg, "': expected NAME=FILE.npy");
    EP_ASSIGN_OR_RETURN(Tensor t, npy_read(arg.substr(eq + 1)));
    given[arg.substr(0, eq)] = std::move(t);
  }
  SessionOptions opt;
  opt.threads = a.threads;
  opt.backend = a.backend;
  opt.precision = a.precision;
  opt.conv_algorithm = a.conv_algorithm;
  opt.optimize = !a.no_optimize;
  opt.reference_f64 = a.reference_f64;
  for (const IoInfo& in : model.inputs()) {
    auto it = given.find(in.name);
    if (it == given.end()) return invalid_argument("model input '", in.name, "' has no --input ", in.name, "=FILE.npy");
    if (it->second.dtype() != in.dtype)
      return invalid_argument("--input ", in.name, ": file holds ", dtype_name(it->second.dtype()), ", the model expects ",
                              dtype_name(in.dtype));
    opt.input_shapes[in.name] = it->second.shape();
  }
  for (const auto& [name, t] : given) {
    bool known = false;
    for (const IoInfo& in : model.inputs()) known |= in.name == name;
    if (!known) return invalid_argument("--input ", name, ": the model has no input of that name");
  }
  EP_ASSIGN_OR_RETURN(Session session, Session::create(model, opt));
  std::vector<Tensor> inputs;
  for (const IoInfo& in : session.inputs()) {
    Tensor& t = given[in.name];
    inputs.push_back(t.dtype() == in.dtype ? std::move(t) : convert(t, in.dtype));  // f32 -> f64 oracle
  }
  EP_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session.run(inputs));
  std::error_code ec;
  std::filesystem::create_directories(a.output_dir, ec);
  if (ec) return io_error("cannot create output directory '", a.output_dir, "': ", ec.message());
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string name = session.outputs()[i].name;
    for (char& c : name)
      if (c == '/' || c == '\\') c = '_';  // an output name must not leave the folder
    const std::string path = (std::filesystem::path(a.output_dir) / (name + ".npy")).string();
    if (a.reference_f64 && outputs[i].dtype() == DType::f64) outputs[i] = convert(outputs[i], DType::f32);
    EP_RETURN_IF_ERROR(npy_write(path, outputs[i].view()));
    std::cout << session.outputs()[i].name << " " << dtype_name(outputs[i].dtype()) << " "
              << outputs[i].shape().to_string() << " -> " << path << "\n";
  }
  return Status::ok();
}
}  // namespace

Runner add_infer(CLI::App& app) {
  auto a = std::make_shared<InferArgs>();
  app.add_option("model", a->model, "ONNX model file")->required();
  app.add_option("--input,-i", a->inputs, "NAME=FILE.npy, one per model input")->required();
  app.add_option("--output-dir,-o", a->output_dir, "Folder for <output name>.npy files");
  app.add_option("--threads", a->threads, "Threads")->check(CLI::Range(1, 1024));
  app.add_option("--backend", a->backend, "auto or ref")->check(CLI::IsMember({"auto", "ref"}));
  app.add_option("--precision", a->precision, "fp32 or bf16 (QDQ models run int8 either way)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--conv-algorithm", a->conv_algorithm,
                 "auto (Winograd for 3x3 convolutions where it is faster) or direct, as for bench")
      ->check(CLI::IsMember({"auto", "direct"}));
  app.add_flag("--no-optimize", a->no_optimize, "Skip graph rewrites (fusion, layout)");
  app.add_flag("--reference-f64", a->reference_f64,
               "Float64 oracle: run every f32 tensor as f64 on the reference kernels (outputs written as f32)");
  return [a]() {
    Status st = infer(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
