#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <unordered_map>
#include <unordered_set>

#include "edgepipe/arena.h"
#include "edgepipe/session.h"
#include "ir/graph.h"
#include "kernels/fused_conv.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_kernels.h"
#include "passes/passes.h"
#include "runtime/memory_planner.h"

namespace ep {
namespace {

struct Step {
  ir::Node* node = nullptr;
  std::unique_ptr<kernels::Kernel> kernel;
  std::string_view backend;
  std::vector<TensorView> in, out;
  void* scratch = nullptr;
  int64_t calls = 0, total_ns = 0;
  bool alias = false;  // a Reshape-like step whose output shares its input's buffer: nothing to run
};

// A slot of a step that reads or writes user memory; re-pointed at every run.
struct Patch {
  uint32_t step;
  uint32_t slot;
  bool output_slot;
};

// Graph outputs that no step writes (constants, graph inputs passed through) are copied.
struct OutputCopy {
  size_t output;
  const void* constant = nullptr;  // when the value is a constant
  int input = -1;                  // when the value is a graph input
};

// Turns the given graph inputs into constants.
Status freeze_inputs(ir::Graph& g, const std::map<std::string, std::shared_ptr<const Tensor>>& constants) {
  for (const auto& [name, tensor] : constants) {
    const std::string& key = name;  // clang 14 cannot capture a structured binding
    auto it = std::find_if(g.inputs().begin(), g.inputs().end(), [&](const ir::Value* v) { return v->name == key; });
    if (it == g.inputs().end()) return invalid_argument("constant input '", name, "' is not an input of the model");
    ir::Value* v = *it;
    if (!tensor || tensor->dtype() != v->dtype)
      return invalid_argument("constant input '", name, "': dtype ", tensor ? dtype_name(tensor->dtype()) : "none",
                              ", the model expects ", dtype_name(v->dtype));
    if (v->shape.rank() != tensor->shape().rank())
      return invalid_argument("constant input '", name, "': rank ", tensor->shape().rank(), ", the model declares ",
                              v->shape.rank());
    v->constant = tensor;
    v->shape = tensor->shape();
    v->is_graph_input = false;
    g.inputs().erase(it);
  }
  return Status::ok();
}

// Makes the named intermediate tensors graph outputs, appended in the order given.
Status mark_extra_outputs(ir::Graph& g, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    ir::Value* v = g.find_value(name);
    if (!v || (!v->producer && !v->is_graph_input && !v->is_constant()))
      return invalid_argument("extra output '", name, "' is not a tensor of the model");
    if (v->is_graph_output) return invalid_argument("extra output '", name, "' is already an output of the model");
    v->is_graph_output = true;
    g.outputs().push_back(v);
  }
  return Status::ok();
}

}  // namespace

struct Session::Impl {
  std::unique_ptr<ir::Graph> graph;
  SessionOptions options;
  std::vector<IoInfo> inputs, outputs;
  std::vector<Step> steps;
  std::vector<size_t> scratch_bytes;  // per step
  Arena arena;
  std::vector<std::vector<Patch>> input_patches, output_patches;
  std::vector<OutputCopy> output_copies;

  Status choose_kernel(ir::Node* n);
  Status plan_and_bind();
  Status run(std::span<const TensorView> in, std::span<const TensorView> out);
};

Status Session::Impl::choose_kernel(ir::Node* n) {
  std::vector<kernels::TensorInfo> infos;
  for (const ir::Value* v : n->inputs)
    infos.push_back(v ? kernels::TensorInfo{v->dtype, v->shape, v->constant.get()} : kernels::TensorInfo{});
  static constexpr std::string_view kAuto[] = {"onednn", "cpu", "ref"};
  static constexpr std::string_view kRef[] = {"ref"};
  const std::span<const std::string_view> order =
      options.backend == "ref" ? std::span<const std::string_view>(kRef) : std::span<const std::string_view>(kAuto);
  std::string declined;  // why the fast kernels said no, for an op that has no reference kernel
  for (std::string_view b : order) {
    const kernels::KernelDef* def = kernels::find_kernel(n->op_type, n->domain, n->opset, b);
    if (!def) continue;
    kernels::PrepareContext ctx(*n, infos, options.threads);
    auto k = def->create();
    Status st = k->prepare(ctx);
    if (st.is_ok()) st = ctx.check_outputs();
    if (!st.is_ok()) {
      if (b == "ref") return st;
      declined += std::string(declined.empty() ? "" : "; ") + std::string(b) + ": " + st.message();
      continue;  // a fast kernel may decline a case; the reference kernel takes it
    }
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      const ir::Value* o = n->outputs[i];
      if (o && (ctx.output(i).dtype != o->dtype || ctx.output(i).shape != o->shape))
        return internal_error(n->label(), ": kernel '", b, "' disagrees with shape inference on output ", i);
    }
    Step s;
    s.node = n;
    s.kernel = std::move(k);
    s.backend = def->backend;
    s.in.resize(n->inputs.size());
    s.out.resize(n->outputs.size());
    steps.push_back(std::move(s));
    scratch_bytes.push_back(ctx.scratch_bytes());
    return Status::ok();
  }
  if (!declined.empty()) return unsupported(n->label(), ": no kernel takes it (", declined, ")");
  return unsupported(n->label(), ": no kernel for opset ", n->opset);
}

Status Session::Impl::plan_and_bind() {
  std::unordered_map<const ir::Value*, int> producer_step, last_use;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const ir::Value* v : steps[i].node->outputs)
      if (v) producer_step[v] = static_cast<int>(i);
    for (const ir::Value* v : steps[i].node->inputs)
      if (v) last_use[v] = static_cast<int>(i);
  }
  // Reshape-like steps (same bytes in, same bytes out) between two arena tensors are not run:
  // the output shares the input's buffer, which then lives until the output's last reader.
  std::unordered_map<const ir::Value*, const ir::Value*> alias_of;  // output -> buffer owner
  auto in_arena = [](const ir::Value* v) {
    return v && !v->is_constant() && !v->is_graph_input && !v->is_graph_output;
  };
  // Element-wise steps write over an input of their output's shape that nobody reads after
  // them: the output's cache lines are the ones just read, and the arena holds one buffer
  // fewer. Every kernel of these ops reads element i of that input before writing element i.
  for (size_t i = 0; i < steps.size(); ++i) {
    Step& s = steps[i];
    static const std::unordered_set<std::string> kViews = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    static const std::unordered_set<std::string> kInPlace = {"Add", "Sub", "Mul", "Div", "Relu", "Sigmoid",
                                                             "Tanh", "Clip", "HardSigmoid", "HardSwish"};
    const ir::Node& n = *s.node;
    if (n.outputs.size() != 1) continue;
    const ir::Value* y = n.outputs[0];
    if (n.domain.empty() && kViews.count(n.op_type)) {
      const ir::Value* x = n.input(0);
      if (!in_arena(x) || !in_arena(y) || x->dtype != y->dtype || x->shape.numel() != y->shape.numel()) continue;
      const ir::Value* owner = alias_of.count(x) ? alias_of[x] : x;
      alias_of[y] = owner;
      if (last_use.count(y)) last_use[owner] = std::max(last_use[owner], last_use[y]);
      s.alias = true;
      s.backend = "view";
      continue;
    }
    // Step i's output y takes the buffer of its input `slot` when that input (through any
    // views) is read by nobody after step i; with `alone`, also only when no other input of
    // the step shares the buffer (a kernel that reads neighbours, such as a convolution, would
    // read what it has already overwritten).
    auto write_over = [&](size_t slot, bool alone) {
      const ir::Value* x = n.input(slot);
      if (!in_arena(x) || x->dtype != y->dtype || x->shape != y->shape) return false;
      const ir::Value* owner = alias_of.count(x) ? alias_of[x] : x;
      if (last_use[owner] != static_cast<int>(i)) return false;
      for (size_t k = 0; alone && k < n.inputs.size(); ++k) {
        const ir::Value* other = n.input(k);
        if (k != slot && other && (other == owner || (alias_of.count(other) && alias_of[other] == owner))) return false;
      }
      alias_of[y] = owner;
      if (last_use.count(y)) last_use[owner] = std::max(last_use[owner], last_use[y]);
      return true;
    };
    if (!in_arena(y)) continue;
    // A convolution whose kernel adds the residual as it stores (oneDNN's sum post-op, the cpu
    // pointwise kernel) writes over that residual (ResNet's and YOLO's bottleneck adds).
    if (n.domain == "edgepipe" && n.op_type == "FusedConv" && n.inputs.size() > 3 && s.kernel->may_overwrite_input(3)) {
      write_over(3, true);
      continue;
    }
    // A + Resize(X): over A, never over X's buffer (read at other places).
    if (n.domain == "edgepipe" && n.op_type == "ResizeAdd" && s.kernel->may_overwrite_input(0)) {
      write_over(0, true);
      continue;
    }
    const bool elementwise = (n.domain.empty() && kInPlace.count(n.op_type)) ||
                             (n.domain == "edgepipe" && n.op_type == "ScaleAdd");
    if (!elementwise) continue;
    const size_t candidates = n.op_type == "ScaleAdd" ? 1 : std::min<size_t>(n.inputs.size(), 2);
    for (size_t k = 0; k < candidates; ++k) {
      if (k == 1 && n.input(0) == n.input(1)) break;  // Mul(d, d): tried as input 0 already
      if (write_over(k, false)) break;
    }
  }
  // Requests: every step output that is not a graph output, and every step's scratch.
  std::vector<runtime::BufferRequest> requests;
  std::vector<const ir::Value*> request_value;  // nullptr for scratch
  std::vector<size_t> request_step;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const ir::Value* v : steps[i].node->outputs) {
      if (!v || v->is_graph_output || alias_of.count(v)) continue;
      const int first = static_cast<int>(i);
      const int last = last_use.count(v) ? std::max(first, last_use[v]) : first;
      requests.push_back({static_cast<size_t>(v->shape.numel()) * dtype_size(v->dtype), first, last});
      request_value.push_back(v);
      request_step.push_back(i);
    }
    if (scratch_bytes[i]) {
      requests.push_back({scratch_bytes[i], static_cast<int>(i), static_cast<int>(i)});
      request_value.push_back(nullptr);
      request_step.push_back(i);
    }
  }
  // Each request is bounded by shape inference; their sum must be too, so the planner's offsets cannot wrap.
  constexpr size_t kHardLimit = size_t{1} << 62;
  size_t sum = 0;
  for (const runtime::BufferRequest& r : requests) {
    const size_t b = arena_align(r.bytes);
    if (b > kHardLimit - sum) return resource_exhausted("the model's activations exceed ", kHardLimit, " bytes");
    sum += b;
  }
  const runtime::MemoryPlan plan = runtime::plan_memory(requests);
  if (!runtime::memory_plan_is_valid(requests, plan)) return internal_error("memory plan overlaps live buffers");
  if (options.memory_limit_bytes && plan.total_bytes > options.memory_limit_bytes)
    return resource_exhausted("the activation arena needs ", plan.total_bytes, " bytes, over the memory limit of ",
                              options.memory_limit_bytes);
  try {
    arena = Arena(plan.total_bytes);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("cannot allocate the activation arena of ", plan.total_bytes, " bytes");
  }
  std::unordered_map<const ir::Value*, void*> where;
  for (size_t r = 0; r < requests.size(); ++r) {
    void* p = arena.at(plan.offsets[r]);
    if (request_value[r]) where[request_value[r]] = p;
    else steps[request_step[r]].scratch = p;
  }
  for (const auto& [v, owner] : alias_of) where[v] = where.at(owner);
  std::unordered_map<const ir::Value*, size_t> input_index, output_index;
  for (size_t i = 0; i < graph->inputs().size(); ++i) input_index[graph->inputs()[i]] = i;
  for (size_t i = 0; i < graph->outputs().size(); ++i) output_index[graph->outputs()[i]] = i;
  input_patches.assign(graph->inputs().size(), {});
  output_patches.assign(graph->outputs().size(), {});
  auto bind = [&](const ir::Value* v, TensorView& view, uint32_t step, uint32_t slot, bool out_slot) {
    view.dtype = v->dtype;
    view.shape = v->shape;
    if (v->is_constant()) {
      view.data = const_cast<void*>(v->constant->data());  // kernels never write inputs
    } else if (v->is_graph_output) {
      output_patches[output_index.at(v)].push_back({step, slot, out_slot});
    } else if (v->is_graph_input) {
      input_patches[input_index.at(v)].push_back({step, slot, out_slot});
    } else {
      view.data = where.at(v);
    }
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    Step& s = steps[i];
    for (size_t k = 0; k < s.node->inputs.size(); ++k)
      if (const ir::Value* v = s.node->inputs[k]) bind(v, s.in[k], static_cast<uint32_t>(i), static_cast<uint32_t>(k), false);
    for (size_t k = 0; k < s.node->outputs.size(); ++k)
      if (const ir::Value* v = s.node->outputs[k]) bind(v, s.out[k], static_cast<uint32_t>(i), static_cast<uint32_t>(k), true);
  }
  for (size_t i = 0; i < graph->outputs().size(); ++i) {
    const ir::Value* v = graph->outputs()[i];
    if (producer_step.count(v)) continue;
    OutputCopy c{i};
    if (v->is_constant()) c.constant = v->constant->data();
    else if (v->is_graph_input) c.input = static_cast<int>(input_index.at(v));
    else return internal_error("graph output '", v->name, "' has no producer");
    output_copies.push_back(c);
  }
  return Status::ok();
}

namespace {
Status check_views(std::span<const TensorView> views, const std::vector<IoInfo>& infos, const char* what) {
  if (views.size() != infos.size()) return invalid_argument("run: ", views.size(), " ", what, "s given, the session has ", infos.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const TensorView& v = views[i];
    const IoInfo& info = infos[i];
    if (v.dtype != info.dtype)
      return invalid_argument(what, " '", info.name, "': dtype ", dtype_name(v.dtype), ", expected ", dtype_name(info.dtype));
    if (v.shape != info.shape)
      return invalid_argument(what, " '", info.name, "': shape ", v.shape.to_string(), ", the session was created for ",
                              info.shape.to_string());
    if (!v.data && info.shape.numel() != 0) return invalid_argument(what, " '", info.name, "': null data");
  }
  return Status::ok();
}
}  // namespace

Status Session::Impl::run(std::span<const TensorView> in, std::span<const TensorView> out) {
  EP_RETURN_IF_ERROR(check_views(in, inputs, "input"));
  EP_RETURN_IF_ERROR(check_views(out, outputs, "output"));
  if (omp_get_max_threads() != options.threads) omp_set_num_threads(options.threads);
  auto patch = [&](const std::vector<std::vector<Patch>>& patches, std::span<const TensorView> views) {
    for (size_t i = 0; i < patches.size(); ++i)
      for (const Patch& p : patches[i])
        (p.output_slot ? steps[p.step].out[p.slot] : steps[p.step].in[p.slot]).data = views[i].data;
  };
  patch(input_patches, in);
  patch(output_patches, out);
  using clock = std::chrono::steady_clock;
  for (Step& s : steps) {
    if (s.alias) continue;
    const auto t0 = options.profile ? clock::now() : clock::time_point();
    Status st = s.kernel->run(kernels::RunContext{s.in, s.out, s.scratch});
    if (!st.is_ok()) return st.with_context(s.node->label());
    if (options.profile) {
      s.total_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count();
      ++s.calls;
    }
  }
  for (const OutputCopy& c : output_copies) {
    const void* src = c.constant ? c.constant : in[static_cast<size_t>(c.input)].data;
    if (out[c.output].nbytes()) std::memcpy(out[c.output].data, src, out[c.output].nbytes());
  }
  return Status::ok();
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::create(const Model& model, const SessionOptions& options) {
  if (options.threads < 1 || options.threads > 1024) return invalid_argument("threads must be in 1..1024, got ", options.threads);
  if (options.backend != "auto" && options.backend != "ref")
    return invalid_argument("backend '", options.backend, "' is not one of auto, ref");
  if (options.precision != "fp32" && options.precision != "bf16")
    return invalid_argument("precision '", options.precision, "' is not one of fp32, bf16");
  if (options.conv_algorithm != "auto" && options.conv_algorithm != "direct")
    return invalid_argument("conv_algorithm '", options.conv_algorithm, "' is not one of auto, direct");
  if (options.blocked_layout != "on" && options.blocked_layout != "off")
    return invalid_argument("blocked_layout '", options.blocked_layout, "' is not one of on, off");
  if (options.precision == "bf16" && options.backend != "ref") {
    std::string isa;
    if (!kernels::onednn_has_bf16(&isa))
      return unsupported("precision bf16: this CPU has no native bf16 (oneDNN's ISA here is ", isa,
                         "; bf16 needs avx512_core_bf16 or newer); use precision fp32");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->graph = model.graph().clone();
  ir::Graph& g = *impl->graph;
  EP_RETURN_IF_ERROR(freeze_inputs(g, options.constant_inputs));
  EP_RETURN_IF_ERROR(mark_extra_outputs(g, options.extra_outputs));
  if (options.reference_f64) {
    impl->options.backend = "ref";
    impl->options.optimize = false;
    EP_RETURN_IF_ERROR(passes::promote_to_f64(g));
  }
  EP_RETURN_IF_ERROR(passes::bind_input_shapes(g, options.input_shapes));
  EP_RETURN_IF_ERROR(passes::infer_shapes_and_fold(g, options.memory_limit_bytes));
  EP_RETURN_IF_ERROR(passes::eliminate_dead_code(g));
  EP_RETURN_IF_ERROR(passes::nhwc_io_begin(g, options.nhwc_io));
  if (impl->options.optimize) {
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::drop_conv_output_qdq(g));
    EP_RETURN_IF_ERROR(passes::fuse_conv(g));
    EP_RETURN_IF_ERROR(passes::layout_nhwc(g));
    if (!options.nhwc_io.empty()) EP_RETURN_IF_ERROR(passes::nhwc_io_finish(g, options.nhwc_io));
    if (options.blocked_layout == "on" && options.precision == "fp32") EP_RETURN_IF_ERROR(passes::layout_blocked(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fuse_qdq(g));
    // Last: the QDQ fusions above match single-reader chains that these rewrites would break.
    EP_RETURN_IF_ERROR(passes::fold_scale_residual(g));
    EP_RETURN_IF_ERROR(passes::eliminate_common_subexpressions(g));
    // bf16 activations through the ops between convs need the fast kernels (the reference
    // ones compute f32 only) and ScaleAdd formed.
    if (options.precision == "bf16") EP_RETURN_IF_ERROR(passes::lower_precision_bf16(g, options.backend != "ref"));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fuse_pointwise_depthwise(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fold_resize_add(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fold_conv_resize_add(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fold_quantize_into_scale_add(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fold_conv_scale_add(g));
    if (options.backend != "ref") EP_RETURN_IF_ERROR(passes::fold_resize_concat(g));
    if (options.conv_algorithm == "direct")
      for (const auto& n : g.nodes())
        if (n->domain == kernels::kFusedConvDomain &&
            (n->op_type == kernels::kFusedConvOp || n->op_type == kernels::kFusedConvScaleAddOp))
          n->attrs["algorithm"] = std::string("direct");
  }
  for (const ir::Value* v : g.inputs()) impl->inputs.push_back(IoInfo{v->name, v->dtype, v->shape, v->dim_params});
  for (const ir::Value* v : g.outputs()) impl->outputs.push_back(IoInfo{v->name, v->dtype, v->shape, {}});
  omp_set_num_threads(options.threads);
  for (const auto& n : g.nodes()) EP_RETURN_IF_ERROR(impl->choose_kernel(n.get()));
  EP_RETURN_IF_ERROR(impl->plan_and_bind());
  return Session(std::move(impl));
}

const std::vector<IoInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<IoInfo>& Session::outputs() const { return impl_->outputs; }

Status Session::run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) {
  return impl_->run(inputs, outputs);
}

Result<std::vector<Tensor>> Session::run(const std::vector<Tensor>& inputs) {
  std::vector<TensorView> in;
  for (const Tensor& t : inputs) in.push_back(t.view());
  std::vector<Tensor> outs;
  std::vector<TensorView> out;
  for (const IoInfo& o : impl_->outputs) {
    EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(o.dtype, o.shape));
    out.push_back(t.view());
    outs.push_back(std::move(t));
  }
  EP_RETURN_IF_ERROR(impl_->run(in, out));
  return outs;
}

std::vector<OpProfile> Session::profile() const {
  std::vector<OpProfile> r;
  for (const Step& s : impl_->steps) {
    OpProfile p{s.node->name, s.node->op_type, std::string(s.backend), s.calls, s.total_ns, {}, {}, {}, {},
                s.kernel->implementation()};
    for (const ir::Value* v : s.node->inputs) p.inputs.push_back(v ? v->name : std::string());
    for (const ir::Value* v : s.node->outputs) {
      p.outputs.push_back(v ? v->name : std::string());
      p.output_shapes.push_back(v ? v->shape : Shape{});
      p.output_dtypes.push_back(v ? v->dtype : DType::undefined);
    }
    r.push_back(std::move(p));
  }
  return r;
}

void Session::reset_profile() {
  for (Step& s : impl_->steps) s.calls = s.total_ns = 0;
}

size_t Session::arena_bytes() const { return impl_->arena.size(); }
size_t Session::num_steps() const { return impl_->steps.size(); }
int Session::threads() const { return impl_->options.threads; }

}  // namespace ep
