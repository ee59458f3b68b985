// Writing files so that readers never see a half-written one.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace odyn::io {

// Calls `write` on a stream to a temporary file beside `path`, flushes it, and renames it onto
// `path` (atomic on POSIX file systems). On any failure the temporary file is removed, `path` is
// left as it was, and odyn::IoError is thrown.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                           bool binary = false);

}  // namespace odyn::io
