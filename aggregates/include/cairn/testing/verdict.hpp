// cairn::testing::verdict — what the test kits' expectations return: passed, or failed with an explanation.
//
//   CHECK(t.when(submit_order{}).then_rejected("empty"));   // a failed CHECK prints the explanation
//
// Framework-neutral: any test framework that tests a bool and prints with operator<< shows why an expectation
// failed. Thread-safety: a value type.
#pragma once

#include <ostream>
#include <string>

namespace cairn::testing {

/// The outcome of one expectation.
class verdict {
public:
  static verdict pass() {
    return verdict{};
  }
  static verdict fail(std::string why) {
    verdict v;
    v.explanation_ = std::move(why);
    v.passed_ = false;
    return v;
  }

  explicit operator bool() const noexcept {
    return passed_;
  }
  const std::string& explanation() const noexcept {
    return explanation_;
  }

  friend std::ostream& operator<<(std::ostream& os, const verdict& v) {
    return os << (v.passed_ ? std::string{"passed"} : "failed: " + v.explanation_);
  }

private:
  bool passed_ = true;
  std::string explanation_;
};

} // namespace cairn::testing
