// The example aggregate of the Python eventsourcing library's "Aggregates in DDD" chapter, in cairn: a root that
// creates "example" entities inside its boundary and can be discarded. It shows that one command may record
// several events (committed in one atomic batch) and how a discarded aggregate refuses further commands.
//
// Thread-safety: plain values and one aggregate type without synchronisation; an instance belongs to one thread
// (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::domains::examples {

/// The most examples one create_examples command may create (each is one event).
inline constexpr std::int64_t max_examples_per_command = 100;

/// An entity inside the aggregate. Its id is local to the aggregate (1, 2, 3, ... in creation order): outside
/// code reaches it only through the root.
struct example {
  std::uint64_t id = 0;

  friend bool operator==(const example&, const example&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, example& x) {
  return f(x.id);
}

// ---- commands ----

/// Brings the aggregate into being, with no examples.
struct create_aggregate {
  static constexpr bool creates_aggregate = true;

  friend bool operator==(const create_aggregate&, const create_aggregate&) = default;
};

/// Creates one example.
struct create_example {
  friend bool operator==(const create_example&, const create_example&) = default;
};

/// Creates `count` examples: one event each, recorded together or not at all.
struct create_examples {
  std::int64_t count = 0;

  friend bool operator==(const create_examples&, const create_examples&) = default;
};

/// Discards the aggregate; it takes no further command.
struct discard {
  friend bool operator==(const discard&, const discard&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, create_aggregate&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, create_example&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, create_examples& x) {
  return f(x.count);
}

template <class Inspector>
auto inspect(Inspector& f, discard&) {
  return f();
}

// ---- events ----

/// The aggregate exists, with no examples.
struct aggregate_created {
  static constexpr std::string_view event_type = "example_aggregate.created";
  static constexpr std::uint32_t schema_version = 1;

  friend bool operator==(const aggregate_created&, const aggregate_created&) = default;
};

/// One example entity, with the id `handle` chose for it.
struct example_created {
  static constexpr std::string_view event_type = "example_aggregate.example_created";
  static constexpr std::uint32_t schema_version = 1;
  std::uint64_t example_id = 0;

  friend bool operator==(const example_created&, const example_created&) = default;
};

/// The aggregate is discarded.
struct aggregate_discarded {
  static constexpr std::string_view event_type = "example_aggregate.discarded";
  static constexpr std::uint32_t schema_version = 1;

  friend bool operator==(const aggregate_discarded&, const aggregate_discarded&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, aggregate_created&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, example_created& x) {
  return f(x.example_id);
}

template <class Inspector>
auto inspect(Inspector& f, aggregate_discarded&) {
  return f();
}

// ---- the aggregate ----

/// The example aggregate. Invariants: created once; a discarded aggregate takes no command; example ids are
/// unique within the aggregate.
class example_aggregate {
public:
  using command = std::variant<create_aggregate, create_example, create_examples, discard>;
  using event = std::variant<aggregate_created, example_created, aggregate_discarded>;

  static constexpr std::string_view type_name = "example_aggregate";
  static constexpr std::uint32_t snapshot_version = 1;

  decision<event> handle(const create_aggregate& cmd) const;
  decision<event> handle(const create_example& cmd) const;
  decision<event> handle(const create_examples& cmd) const;
  decision<event> handle(const discard& cmd) const;

  void apply(const aggregate_created& e);
  void apply(const example_created& e);
  void apply(const aggregate_discarded& e);

  /// True once created (and still after discarding).
  bool created() const noexcept {
    return created_;
  }

  bool discarded() const noexcept {
    return discarded_;
  }

  std::size_t count_examples() const noexcept {
    return examples_.size();
  }

  std::span<const example> examples() const noexcept {
    return examples_;
  }

  friend bool operator==(const example_aggregate&, const example_aggregate&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, example_aggregate& x) {
    return f(x.created_, x.discarded_, x.examples_);
  }

private:
  bool created_ = false;
  bool discarded_ = false;
  std::vector<example> examples_;
};

} // namespace cairn::domains::examples
