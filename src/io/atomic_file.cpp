#include "odyn/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "odyn/core/error.hpp"

namespace odyn::io {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write, bool binary) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  try {
    std::ofstream out(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw IoError("error while writing '" + path + "'");
    out.close();
    // Make the data durable before the rename publishes it (a power loss then leaves the old file or the new one).
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      throw IoError("cannot sync '" + path + "': " + std::strerror(errno));
    }
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw IoError("cannot replace '" + path + "': " + std::strerror(errno));
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace odyn::io
