#include "bad_aggregate.hpp"

int main() {
  return make_one().version() == 0 ? 0 : 1;
}
