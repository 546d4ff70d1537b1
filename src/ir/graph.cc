#include "ir/graph.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace ep::ir {

std::string Node::label() const {
  return "node '" + name + "' (" + (domain.empty() ? "" : domain + ".") + op_type + ")";
}

namespace {
template <typename T>
Result<T> typed_attr(const Node& n, const std::string& key, const std::optional<T>& fallback, const char* want) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) {
    if (fallback) return *fallback;
    return invalid_model(n.label(), ": required attribute '", key, "' is missing");
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return invalid_model(n.label(), ": attribute '", key, "' is not of type ", want);
}
}  // namespace

Result<int64_t> Node::attr_int(const std::string& key, std::optional<int64_t> fb) const {
  return typed_attr<int64_t>(*this, key, fb, "int");
}
Result<float> Node::attr_float(const std::string& key, std::optional<float> fb) const {
  auto it = attrs.find(key);  // accept an int where a float is expected (some exporters emit it)
  if (it != attrs.end())
    if (const int64_t* v = std::get_if<int64_t>(&it->second)) return static_cast<float>(*v);
  return typed_attr<float>(*this, key, fb, "float");
}
Result<std::string> Node::attr_string(const std::string& key, std::optional<std::string> fb) const {
  return typed_attr<std::string>(*this, key, fb, "string");
}
Result<std::vector<int64_t>> Node::attr_ints(const std::string& key, std::optional<std::vector<int64_t>> fb) const {
  return typed_attr<std::vector<int64_t>>(*this, key, fb, "ints");
}
Result<std::vector<float>> Node::attr_floats(const std::string& key, std::optional<std::vector<float>> fb) const {
  return typed_attr<std::vector<float>>(*this, key, fb, "floats");
}
Result<std::shared_ptr<const Tensor>> Node::attr_tensor(const std::string& key) const {
  return typed_attr<std::shared_ptr<const Tensor>>(*this, key, std::nullopt, "tensor");
}

Value* Graph::add_value(const std::string& name) {
  if (by_name_.count(name)) return nullptr;
  auto v = std::make_unique<Value>();
  v->name = name;
  Value* raw = v.get();
  values_.push_back(std::move(v));
  by_name_[name] = raw;
  return raw;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Node* Graph::add_node(std::string name, std::string op_type, std::vector<Value*> inputs,
                      std::vector<Value*> outputs) {
  auto n = std::make_unique<Node>();
  n->name = std::move(name);
  n->op_type = std::move(op_type);
  n->inputs = std::move(inputs);
  n->outputs = std::move(outputs);
  Node* raw = n.get();
  for (Value* v : raw->inputs)
    if (v) v->consumers.push_back(raw);
  for (Value* v : raw->outputs)
    if (v) v->producer = raw;
  nodes_.push_back(std::move(n));
  return raw;
}

void Graph::erase_node(Node* node) {
  for (Value* v : node->inputs) {
    if (!v) continue;
    auto& c = v->consumers;
    c.erase(std::remove(c.begin(), c.end(), node), c.end());
  }
  for (Value* v : node->outputs)
    if (v && v->producer == node) v->producer = nullptr;
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(), [&](const auto& p) { return p.get() == node; }),
               nodes_.end());
}

void set_input(Node* n, size_t i, Value* v) {
  Value* old = n->inputs[i];
  if (old) {
    auto it = std::find(old->consumers.begin(), old->consumers.end(), n);
    if (it != old->consumers.end()) old->consumers.erase(it);
  }
  n->inputs[i] = v;
  if (v) v->consumers.push_back(n);
}

void Graph::replace_all_uses(Value* from, Value* to) {
  for (Node* c : from->consumers) {
    for (Value*& in : c->inputs)
      if (in == from) in = to;
    to->consumers.push_back(c);
  }
  from->consumers.clear();
  for (Value*& o : outputs_) {
    if (o == from) {
      o = to;
      to->is_graph_output = true;
      from->is_graph_output = false;
    }
  }
}

void Graph::erase_unused_values() {
  std::vector<std::unique_ptr<Value>> kept;
  for (auto& v : values_) {
    if (v->producer || !v->consumers.empty() || v->is_graph_input || v->is_graph_output) {
      kept.push_back(std::move(v));
    } else {
      by_name_.erase(v->name);
    }
  }
  values_ = std::move(kept);
}

bool Graph::rename_value(Value* v, const std::string& name) {
  if (by_name_.count(name)) return false;
  by_name_.erase(v->name);
  v->name = name;
  by_name_[name] = v;
  return true;
}

std::string Graph::unique_value_name(const std::string& base) {
  std::string n;
  do {
    n = base + "__" + std::to_string(name_counter_++);
  } while (by_name_.count(n));
  return n;
}

Status Graph::topological_sort() {
  std::unordered_map<const Node*, size_t> pending;
  std::deque<Node*> ready;
  for (auto& n : nodes_) {
    size_t deps = 0;
    for (Value* v : n->inputs) {
      if (!v) continue;
      if (v->producer) {
        ++deps;
      } else if (!v->is_graph_input && !v->is_constant()) {
        return invalid_model(n->label(), ": input '", v->name,
                             "' is not a graph input, an initializer, or the output of any node");
      }
    }
    pending[n.get()] = deps;
    if (deps == 0) ready.push_back(n.get());
  }
  std::vector<Node*> order;
  order.reserve(nodes_.size());
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (Value* out : n->outputs) {
      if (!out) continue;
      // `consumers` holds a node once per input slot that reads `out` (x*x: twice), which is
      // exactly how `deps` counted it; a nested scan of the inputs would be quadratic.
      for (Node* c : out->consumers)
        if (--pending[c] == 0) ready.push_back(c);
    }
  }
  if (order.size() != nodes_.size()) {
    for (auto& n : nodes_)
      if (pending[n.get()] != 0) return invalid_model("the graph has a cycle through ", n->label());
  }
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < order.size(); ++i) index[order[i]] = i;
  std::sort(nodes_.begin(), nodes_.end(), [&](const auto& a, const auto& b) { return index[a.get()] < index[b.get()]; });
  return Status::ok();
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->opsets = opsets;
  g->name = name;
  g->ir_version = ir_version;
  g->producer_name = producer_name;
  std::unordered_map<const Value*, Value*> map;
  for (const auto& v : values_) {
    Value* c = g->add_value(v->name);
    c->dtype = v->dtype;
    c->shape = v->shape;
    c->dim_params = v->dim_params;
    c->constant = v->constant;
    c->is_graph_input = v->is_graph_input;
    c->is_graph_output = v->is_graph_output;
    map[v.get()] = c;
  }
  auto m = [&](Value* v) { return v ? map.at(v) : nullptr; };
  for (const auto& n : nodes_) {
    std::vector<Value*> ins, outs;
    for (Value* v : n->inputs) ins.push_back(m(v));
    for (Value* v : n->outputs) outs.push_back(m(v));
    Node* c = g->add_node(n->name, n->op_type, ins, outs);
    c->domain = n->domain;
    c->opset = n->opset;
    c->attrs = n->attrs;
  }
  for (Value* v : inputs_) g->inputs_.push_back(m(v));
  for (Value* v : outputs_) g->outputs_.push_back(m(v));
  g->name_counter_ = name_counter_;
  return g;
}

}  // namespace ep::ir
