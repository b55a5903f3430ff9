// An aggregate with one deliberate defect, chosen by the macro the including file defines: the compile-fail tests
// check that cairn's diagnostic names the defect (see CMakeLists.txt).
#pragma once

#include <cairn/aggregate.hpp>

#include <string_view>
#include <variant>

struct ping {};
struct forgotten_command {};

struct pinged {
  static constexpr std::string_view event_type = "bad.pinged";
  static constexpr std::uint32_t schema_version = 1;
};
struct forgotten_event {
  static constexpr std::string_view event_type = "bad.forgotten";
  static constexpr std::uint32_t schema_version = 1;
};

struct bad_aggregate {
  using command = std::variant<ping, forgotten_command>;
  using event = std::variant<pinged, forgotten_event>;
#ifdef CAIRN_BAD_TYPE_NAME
  static constexpr std::string_view type_name = "bad-aggregate";
#else
  static constexpr std::string_view type_name = "bad_aggregate";
#endif

  cairn::decision<event> handle(const ping&) const {
    return event{pinged{}};
  }
#ifndef CAIRN_MISSING_HANDLE
  cairn::decision<event> handle(const forgotten_command&) const {
    return event{forgotten_event{}};
  }
#endif
  void apply(const pinged&) {}
#ifndef CAIRN_MISSING_APPLY
  void apply(const forgotten_event&) {}
#endif
};

// What a user writes first: making an instance.
inline cairn::aggregate_root<bad_aggregate> make_one() {
  return cairn::aggregate_root<bad_aggregate>{"b-1"};
}
