// Steps a freshly forked child takes before it becomes something else (a helper executable, a
// job). Async-signal-safe: they run between fork() and exec() or user code.
#pragma once

#include <initializer_list>
#include <span>

namespace rexec {

// Puts fds[i] at descriptor i, whatever numbers they had (copies are made above them first, so
// placing one never overwrites another still to be placed; the caller closes those copies).
// False if a descriptor could not be duplicated.
bool PlaceDescriptors(std::span<const int> fds);

// Closes every descriptor but those in `keep` (at most 16; any order; -1 entries are ignored).
void CloseDescriptorsBut(std::initializer_list<int> keep);

// Default handling for every signal and none blocked but `keep_blocked` (0: none): what the parent
// ignored or caught must not carry over.
void ResetSignalHandling(int keep_blocked = 0);

}  // namespace rexec
