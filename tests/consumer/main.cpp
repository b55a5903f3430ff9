// Appends one event to a store in the folder given as argument and reads it back; exits 0 on success.
#include <cairn/store/event_store.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer DATA_DIR\n");
    return 2;
  }
  cairn::store::options opts;
  opts.path = argv[1];
  auto store = cairn::store::event_store::open(opts);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", store.error().to_string().c_str());
    return 1;
  }
  cairn::store::append_request request;
  request.stream = "consumer-1";
  request.events.push_back(cairn::store::event_record{"consumer.hello", 1, 0, "hi"});
  auto appended = (*store)->append(request);
  auto read = (*store)->read_stream("consumer-1", 1, 10);
  if (!appended || !read || read->size() != 1 || read->front().event.payload != "hi") {
    std::fprintf(stderr, "round trip failed\n");
    return 1;
  }
  std::printf("consumer: find_package(cairn) works; appended and read back 1 event\n");
  return 0;
}
