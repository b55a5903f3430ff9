# FindCAF: Debian's libcaf-dev (0.17) ships neither a CMake config nor a pkg-config file, so the imported
# targets are declared here.
#
# Provides CAF::core and CAF::io, and sets CAF_FOUND, CAF_INCLUDE_DIR, CAF_CORE_LIBRARY, CAF_IO_LIBRARY.
# Set CAF_ROOT (a CMake or environment variable) to use another build instead, for example the one made with
# -fsanitize=thread by `./dev test --sanitize thread`: then only CAF_ROOT is searched, so that a missing build
# there fails here rather than silently mixing in Debian's uninstrumented library.

if(NOT CAF_ROOT AND DEFINED ENV{CAF_ROOT})
  set(CAF_ROOT $ENV{CAF_ROOT})
endif()
if(CAF_ROOT)
  set(_caf_search HINTS ${CAF_ROOT} NO_DEFAULT_PATH)
endif()
find_path(CAF_INCLUDE_DIR caf/all.hpp ${_caf_search} PATH_SUFFIXES include)
find_library(CAF_CORE_LIBRARY caf_core ${_caf_search} PATH_SUFFIXES lib lib64)
find_library(CAF_IO_LIBRARY caf_io ${_caf_search} PATH_SUFFIXES lib lib64)
unset(_caf_search)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF REQUIRED_VARS CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY)

if(CAF_FOUND)
  find_package(Threads REQUIRED)
  if(NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
endif()
mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY)
