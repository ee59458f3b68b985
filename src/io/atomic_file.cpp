#include "odyn/io/atomic_file.hpp"

#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "odyn/core/error.hpp"

namespace odyn::io {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write, bool binary) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    std::ofstream out(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw IoError("error while writing '" + path + "'");
    out.close();
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw IoError("cannot replace '" + path + "': " + std::strerror(errno));
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace odyn::io
