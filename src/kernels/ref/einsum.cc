// Einsum: the plain loop over every label's range. Repeated labels within one input
// (diagonals) add their strides; broadcast ellipsis dims of size 1 get stride 0.
#include <algorithm>
#include <cctype>
#include <map>

#include "kernels/ref/common.h"
#include "kernels/ref/ref_kernels.h"

namespace ep::kernels::ref {
namespace {

// One operand or the result, as written: letters and whether "..." appears (and where).
struct Term {
  std::string letters;
  int ellipsis_at = -1;  // position in `letters` where the ellipsis dims go
};

Result<Term> parse_term(const PrepareContext& ctx, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ') continue;
    if (c == '.') {
      if (t.ellipsis_at >= 0 || s.compare(i, 3, "...") != 0) return ctx.error("malformed ellipsis in '", s, "'");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      t.letters += c;
    } else {
      return ctx.error("unexpected character '", c, "' in equation");
    }
  }
  return t;
}

class EinsumKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    if (ctx.num_inputs() == 0) return ctx.error("needs at least one input");
    EP_RETURN_IF_ERROR(ctx.expect_inputs(ctx.num_inputs(), ctx.num_inputs()));
    const DType dt = ctx.input(0).dtype;
    if (!(dt == DType::f32 || dt == DType::f64 || dt == DType::i32 || dt == DType::i64))
      return ctx.unsupported_error("dtype ", dtype_name(dt));
    for (size_t i = 1; i < ctx.num_inputs(); ++i)
      if (ctx.input(i).dtype != dt) return ctx.error("input ", i, " has dtype ", dtype_name(ctx.input(i).dtype));
    EP_ASSIGN_OR_RETURN(std::string eq, ctx.node().attr_string("equation"));
    std::vector<Term> ins;
    Term out;
    EP_RETURN_IF_ERROR(parse_equation(ctx, eq, ins, out));
    EP_RETURN_IF_ERROR(bind_labels(ctx, ins, out));
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    dispatch<float, double, int32_t, int64_t>(ctx.outputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
      compute<T, Acc>(ctx);
    });
    return Status::ok();
  }

 private:
  Status parse_equation(const PrepareContext& ctx, const std::string& eq, std::vector<Term>& ins, Term& out) const {
    const size_t arrow = eq.find("->");
    const std::string lhs = eq.substr(0, arrow);
    size_t start = 0;
    for (;;) {
      const size_t comma = lhs.find(',', start);
      EP_ASSIGN_OR_RETURN(Term t, parse_term(ctx, lhs.substr(start, comma == std::string::npos ? comma : comma - start)));
      ins.push_back(t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (ins.size() != ctx.num_inputs())
      return ctx.error("equation has ", ins.size(), " operands, node has ", ctx.num_inputs(), " inputs");
    if (arrow != std::string::npos) {
      EP_ASSIGN_OR_RETURN(out, parse_term(ctx, eq.substr(arrow + 2)));
      return Status::ok();
    }
    // Implicit output: the ellipsis dims, then letters used exactly once, alphabetically.
    std::map<char, int> count;
    bool any_ellipsis = false;
    for (const Term& t : ins) {
      for (char c : t.letters) ++count[c];
      any_ellipsis = any_ellipsis || t.ellipsis_at >= 0;
    }
    out.ellipsis_at = any_ellipsis ? 0 : -1;
    for (const auto& [c, n] : count)
      if (n == 1) out.letters += c;
    return Status::ok();
  }

  // Label ids: 0..E-1 are the ellipsis dims (right-aligned across inputs), then one per letter.
  Status bind_labels(PrepareContext& ctx, const std::vector<Term>& ins, const Term& out) {
    size_t ell = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
      const size_t rank = ctx.input(k).shape.rank(), n = ins[k].letters.size();
      if (rank < n || (ins[k].ellipsis_at < 0 && rank != n))
        return ctx.error("operand ", k, " has rank ", rank, " but its term names ", n, " dims");
      if (ins[k].ellipsis_at >= 0) ell = std::max(ell, rank - n);
    }
    std::map<char, size_t> id;
    for (const Term& t : ins)
      for (char c : t.letters) id.emplace(c, 0);
    size_t next = ell;
    for (auto& [c, i] : id) i = next++;
    sizes_.assign(next, -1);
    for (size_t e = 0; e < ell; ++e) sizes_[e] = 1;
    in_strides_.assign(ins.size(), std::vector<int64_t>(next, 0));
    for (size_t k = 0; k < ins.size(); ++k) EP_RETURN_IF_ERROR(bind_operand(ctx, k, ins[k], ell, id));
    // Output labels first, then the summed ones.
    order_.clear();
    std::vector<bool> used(next, false);
    std::vector<int64_t> out_dims;
    for (size_t i = 0; i <= out.letters.size(); ++i) {
      if (static_cast<int>(i) == out.ellipsis_at)
        for (size_t e = 0; e < ell; ++e) order_.push_back(e);
      if (i == out.letters.size()) break;
      auto it = id.find(out.letters[i]);
      if (it == id.end()) return ctx.error("output label '", out.letters[i], "' is not in any input");
      if (used[it->second]) return ctx.error("output label '", out.letters[i], "' repeats");
      used[it->second] = true;
      order_.push_back(it->second);
    }
    if (out.ellipsis_at < 0 && ell > 0) return ctx.error("the output must keep the ellipsis dims");
    for (size_t e = 0; e < ell; ++e) used[e] = true;
    n_out_labels_ = order_.size();
    for (size_t l : order_) out_dims.push_back(sizes_[l]);
    for (size_t l = 0; l < next; ++l)
      if (!used[l]) order_.push_back(l);
    ctx.set_output(0, ctx.input(0).dtype, Shape(out_dims));
    idx_.assign(next, 0);
    return Status::ok();
  }

  Status bind_operand(const PrepareContext& ctx, size_t k, const Term& t, size_t ell,
                      const std::map<char, size_t>& id) {
    const Shape& s = ctx.input(k).shape;
    const std::vector<int64_t> st = strides_of(s);
    const size_t e_here = s.rank() - t.letters.size();
    for (size_t axis = 0, letter = 0; axis < s.rank(); ++axis) {
      size_t label;
      const bool in_ellipsis = t.ellipsis_at >= 0 && axis >= static_cast<size_t>(t.ellipsis_at) &&
                               axis < static_cast<size_t>(t.ellipsis_at) + e_here;
      if (in_ellipsis) label = ell - e_here + (axis - t.ellipsis_at);
      else label = id.at(t.letters[letter++]);
      int64_t& size = sizes_[label];
      if (in_ellipsis) {  // numpy broadcasting among ellipsis dims
        if (s[axis] != 1 && size != 1 && size != s[axis]) return ctx.error("ellipsis dims of operand ", k, " do not broadcast");
        if (s[axis] != 1) size = s[axis];
        if (s[axis] != 1) in_strides_[k][label] += st[axis];
        continue;
      }
      if (size >= 0 && size != s[axis])
        return ctx.error("label '", t.letters[letter - 1], "' has sizes ", size, " and ", s[axis]);
      size = s[axis];
      in_strides_[k][label] += st[axis];
    }
    return Status::ok();
  }

  template <typename T, typename Acc>
  void compute(const RunContext& ctx) noexcept {
    T* py = ctx.outputs[0].as<T>();
    const int64_t n_out = ctx.outputs[0].numel();
    int64_t n_sum = 1;
    for (size_t i = n_out_labels_; i < order_.size(); ++i) n_sum *= sizes_[order_[i]];
    std::fill(idx_.begin(), idx_.end(), 0);
    for (int64_t o = 0; o < n_out; ++o) {
      Acc acc = 0;
      for (int64_t s = 0; s < n_sum; ++s) {
        Acc term = 1;
        for (size_t k = 0; k < ctx.inputs.size(); ++k) {
          int64_t off = 0;
          for (size_t l = 0; l < idx_.size(); ++l) off += idx_[l] * in_strides_[k][l];
          term *= static_cast<Acc>(ctx.inputs[k].as<T>()[off]);
        }
        acc += term;
        advance(n_out_labels_, order_.size());
      }
      py[o] = static_cast<T>(acc);
      advance(0, n_out_labels_);
    }
  }

  // Odometer step over the labels order_[from..to), last fastest.
  void advance(size_t from, size_t to) noexcept {
    for (size_t i = to; i-- > from;) {
      if (++idx_[order_[i]] < sizes_[order_[i]]) return;
      idx_[order_[i]] = 0;
    }
  }

  std::vector<int64_t> sizes_;                   // per label
  std::vector<std::vector<int64_t>> in_strides_;  // per input, per label
  std::vector<size_t> order_;                    // output labels, then summed labels
  size_t n_out_labels_ = 0;
  std::vector<int64_t> idx_;                     // current value of each label (run state)
};

}  // namespace

std::unique_ptr<Kernel> make_einsum() { return std::make_unique<EinsumKernel>(); }

}  // namespace ep::kernels::ref
