#include <cairn/domains/example_aggregate.hpp>

#include <optional>
#include <string>

namespace cairn::domains::examples {

namespace {

using event = example_aggregate::event;

std::optional<rejection> check_live(const example_aggregate& a) {
  if (!a.created())
    return reject("aggregate does not exist");
  if (a.discarded())
    return reject("aggregate is discarded");
  return std::nullopt;
}

} // namespace

decision<event> example_aggregate::handle(const create_aggregate&) const {
  if (created_)
    return reject("aggregate already exists");
  return event{aggregate_created{}};
}

decision<event> example_aggregate::handle(const create_example&) const {
  return handle(create_examples{1});
}

decision<event> example_aggregate::handle(const create_examples& cmd) const {
  if (auto why = check_live(*this))
    return *why;
  if (cmd.count <= 0 || cmd.count > max_examples_per_command)
    return reject("count must be between 1 and " + std::to_string(max_examples_per_command) + ", got " +
                  std::to_string(cmd.count));
  // Examples are never removed, so the next id is one past the count; ids stay unique.
  std::vector<event> events;
  events.reserve(static_cast<std::size_t>(cmd.count));
  for (std::int64_t i = 1; i <= cmd.count; ++i)
    events.push_back(example_created{examples_.size() + static_cast<std::uint64_t>(i)});
  return events;
}

decision<event> example_aggregate::handle(const discard&) const {
  if (auto why = check_live(*this))
    return *why;
  return event{aggregate_discarded{}};
}

void example_aggregate::apply(const aggregate_created&) {
  created_ = true;
}

void example_aggregate::apply(const example_created& e) {
  examples_.push_back(example{e.example_id});
}

void example_aggregate::apply(const aggregate_discarded&) {
  discarded_ = true;
}

} // namespace cairn::domains::examples
