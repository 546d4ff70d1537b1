// The in-memory model: Values (tensors by name) produced and consumed by Nodes.
// The Graph owns everything; pointers stay valid until the object is erased.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "edgepipe/status.h"
#include "edgepipe/tensor.h"

namespace ep::ir {

struct Node;

struct Value {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;                          // -1 for an unknown dim
  std::vector<std::string> dim_params;  // symbolic names per dim ("" when none); graph inputs only
  std::shared_ptr<const Tensor> constant;  // set for initializers and folded values
  Node* producer = nullptr;
  std::vector<Node*> consumers;
  bool is_graph_input = false;
  bool is_graph_output = false;

  bool is_constant() const { return constant != nullptr; }
};

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, std::shared_ptr<const Tensor>>;

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain
  int opset = 0;       // version of `domain` the model imports
  std::vector<Value*> inputs;   // nullptr for an omitted optional input
  std::vector<Value*> outputs;  // nullptr for an omitted optional output
  std::map<std::string, AttrValue> attrs;

  // "node 'conv_3' (Conv)": the prefix of every error about this node.
  std::string label() const;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute access. A present attribute of the wrong type is an error.
  Result<int64_t> attr_int(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const;
  Result<float> attr_float(const std::string& key, std::optional<float> fallback = std::nullopt) const;
  Result<std::string> attr_string(const std::string& key, std::optional<std::string> fallback = std::nullopt) const;
  Result<std::vector<int64_t>> attr_ints(const std::string& key,
                                         std::optional<std::vector<int64_t>> fallback = std::nullopt) const;
  Result<std::vector<float>> attr_floats(const std::string& key,
                                         std::optional<std::vector<float>> fallback = std::nullopt) const;
  Result<std::shared_ptr<const Tensor>> attr_tensor(const std::string& key) const;

  size_t num_inputs() const { return inputs.size(); }
  // The input at i, or nullptr when it is absent or omitted.
  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs.size() ? outputs[i] : nullptr; }
};

// Points input `i` of `n` at `v` (which may be null for an omitted input), moving the
// consumer link from the old value to the new one.
void set_input(Node* n, size_t i, Value* v);

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // Creates a value; names must be unique (checked: returns nullptr when taken).
  Value* add_value(const std::string& name);
  Value* find_value(const std::string& name) const;
  // Adds a node and wires producer/consumer links.
  Node* add_node(std::string name, std::string op_type, std::vector<Value*> inputs, std::vector<Value*> outputs);
  // Unlinks and destroys a node; its outputs stay (without producer).
  void erase_node(Node* node);
  // Points every consumer of `from` at `to` (graph outputs included).
  void replace_all_uses(Value* from, Value* to);
  // Removes values that no node touches and that are not graph inputs/outputs.
  void erase_unused_values();
  std::string unique_value_name(const std::string& base);
  // Gives `v` a new name; false (and no change) when the name is taken.
  bool rename_value(Value* v, const std::string& name);

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  std::vector<Value*>& inputs() { return inputs_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  std::vector<Value*>& outputs() { return outputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }

  // Kahn's algorithm; reorders nodes_. Error naming a node on a cycle, or a value with no producer.
  Status topological_sort();
  // Deep copy (constant tensors are shared: they are immutable).
  std::unique_ptr<Graph> clone() const;

  std::map<std::string, int64_t> opsets;  // domain -> version
  std::string name;
  int64_t ir_version = 0;
  std::string producer_name;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::map<std::string, Value*> by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  int64_t name_counter_ = 0;
};

}  // namespace ep::ir
