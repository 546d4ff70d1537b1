#include "edgepipe/session.h"
#include "ir/graph.h"
#include "onnx/import.h"

namespace ep {

Result<Model> Model::load(const std::string& path) {
  EP_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx_import::import_model_file(path));
  return Model(std::shared_ptr<const ir::Graph>(std::move(g)));
}

Result<Model> Model::load_from_memory(const void* data, size_t size, const std::string& base_dir) {
  EP_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx_import::import_model(data, size, "model <memory>", base_dir));
  return Model(std::shared_ptr<const ir::Graph>(std::move(g)));
}

namespace {
IoInfo info_of(const ir::Value* v) { return IoInfo{v->name, v->dtype, v->shape, v->dim_params}; }
}  // namespace

std::vector<IoInfo> Model::inputs() const {
  std::vector<IoInfo> r;
  for (const ir::Value* v : graph_->inputs()) r.push_back(info_of(v));
  return r;
}

std::vector<IoInfo> Model::outputs() const {
  std::vector<IoInfo> r;
  for (const ir::Value* v : graph_->outputs()) r.push_back(info_of(v));
  return r;
}

int64_t Model::opset() const {
  auto it = graph_->opsets.find("");
  return it == graph_->opsets.end() ? 0 : it->second;
}

}  // namespace ep
