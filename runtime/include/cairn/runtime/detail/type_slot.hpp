// The runtime's record of one registered aggregate type: its binding (the typed half), the shared core and the
// directory of its active instances.
#pragma once

#include <cairn/runtime/detail/directory.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/runtime/type_binding.hpp>

#include <memory>

namespace cairn::detail {

struct type_slot {
  type_slot(binding::type_binding& t, runtime_core& c) : type(t), core(c) {}

  binding::type_binding& type;
  runtime_core& core;
  std::unique_ptr<directory> instances; ///< from start() to stop()
};

} // namespace cairn::detail
