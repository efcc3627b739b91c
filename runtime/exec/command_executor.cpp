#include "runtime/exec/command_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "rexec/command.h"
#include "runtime/exec/child_runtime.h"
#include "core/fd_io.h"
#include "runtime/exec/command_protocol.h"
#include "runtime/exec/memory_limit.h"
#include "runtime/jit/template_protocol.h"

namespace rexec {
namespace {

using command_protocol::RequestHeader;
using command_protocol::ResponseHeader;
using command_protocol::Status;

using template_protocol::kJobChannelIn;
using template_protocol::kJobChannelOut;

// Collects what the command's entry reports through the C ABI of command.h.
struct CallResult {
  std::string state;
  int failure = 0;
  std::string type;
  std::string message;
};

void StateOut(void* context, const unsigned char* data, size_t size) {
  static_cast<CallResult*>(context)->state.assign(reinterpret_cast<const char*>(data), size);
}

void Failure(void* context, int kind, const char* type_name, const char* message) {
  auto* result = static_cast<CallResult*>(context);
  result->failure = kind;
  result->type = type_name != nullptr ? type_name : "";
  result->message = message != nullptr ? message : "";
}

using CommandEntry = int (*)(const rexec_command_call*);

// Runs the module's initializers with stdout and stderr on /dev/null: what they print belongs to
// no job (and would be printed again by every executor that replaces a retired one).
void RunInitializersQuietly(const LinkedModule& module) {
  int saved_out = dup(1);
  int saved_err = dup(2);
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved_out < 0 || saved_err < 0 || null_fd < 0) _exit(127);
  if (dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) _exit(127);
  module.RunInitializers();
  FlushChildOutput();
  if (dup2(saved_out, 1) < 0 || dup2(saved_err, 2) < 0) _exit(127);
  close(saved_out);
  close(saved_err);
  close(null_fd);
}

// Tells whether a job left a thread or a child process running: it would act during later jobs
// (write into their output, hold their memory), so this executor must not serve another. Asked
// after every job, so it costs one fstat, not a walk of /proc/self/task: the link count of that
// directory is a constant plus the process's thread count.
class LeftoverCheck {
 public:
  LeftoverCheck() : tasks_(open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    one_thread_links_ = Links();  // the executor has one thread now
  }

  bool JobLeftSomethingRunning() const {
    pid_t child;
    while ((child = waitpid(-1, nullptr, WNOHANG)) > 0) {  // children that already ended
    }
    const nlink_t links = Links();
    return links == 0 || links != one_thread_links_ || child == 0;  // 0: a child still runs
  }

 private:
  nlink_t Links() const {
    struct stat status;
    return tasks_ >= 0 && fstat(tasks_, &status) == 0 ? status.st_nlink : 0;
  }

  int tasks_;
  nlink_t one_thread_links_ = 0;
};

// Reads requests through a buffer: a request's header and body usually come with one read.
class RequestReader {
 public:
  explicit RequestReader(int fd) : fd_(fd) {}

  // False when the channel failed or ended before `size` bytes came.
  bool Read(void* into, size_t size) {
    char* out = static_cast<char*>(into);
    while (size > 0) {
      if (begin_ == end_) {
        // Large bodies go straight to their place; small reads fill the buffer.
        if (size >= sizeof buffer_) return ReadFully(fd_, out, size);
        const ssize_t got = ReadSome(fd_, buffer_, sizeof buffer_);
        if (got <= 0) return false;
        begin_ = buffer_;
        end_ = buffer_ + got;
      }
      const size_t take = std::min<size_t>(size, end_ - begin_);
      std::memcpy(out, begin_, take);
      begin_ += take;
      out += take;
      size -= take;
    }
    return true;
  }

 private:
  const int fd_;
  char buffer_[16 * 1024];
  char* begin_ = buffer_;
  char* end_ = buffer_;
};

// True unless the pipe behind `fd` is known to be empty: the worker then need not read it to
// have all of the job's output.
bool MayHoldOutput(int fd) {
  int pending = 0;
  return ioctl(fd, FIONREAD, &pending) != 0 || pending != 0;
}

}  // namespace

void ServeCommands(const LinkedModule& module) {
  // A command job has no stdin.
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0) _exit(127);
  close(null_fd);
  for (LinkedModule::VoidFunction fini : module.finalizers()) {
    AtChildExit([](void* fini) { reinterpret_cast<LinkedModule::VoidFunction>(fini)(); },
                reinterpret_cast<void*>(fini));
  }
  LeftoverCheck leftovers;  // while the executor has one thread: before the initializers
  RunInitializersQuietly(module);

  RequestReader requests(kJobChannelIn);
  std::string request_body;  // name, then state
  std::string reply;         // the whole response, sent with one write
  uint64_t memory_limit = 0;  // the current job's; 0: none, as the executor starts
  for (;;) {
    RequestHeader request;
    if (!requests.Read(&request, sizeof request) ||
        request.magic != command_protocol::kRequestMagic) {
      ExitChild(0);  // the worker closed the connection: a normal end
    }
    request_body.resize(request.name_bytes + request.state_bytes);
    if (!requests.Read(request_body.data(), request_body.size())) ExitChild(0);
    std::string name = request_body.substr(0, request.name_bytes);
    std::string_view state = std::string_view(request_body).substr(request.name_bytes);
    if (request.memory_bytes != memory_limit) {
      LimitMemoryGrowth(request.memory_bytes, LimitKind::kPerJob);
      memory_limit = request.memory_bytes;
    }

    ResponseHeader response;
    CallResult result;
    auto entry = reinterpret_cast<CommandEntry>(module.command(name));
    if (entry == nullptr) {
      response.status = Status::kUnknownCommand;
    } else {
      rexec_command_call call{};
      call.state_in = reinterpret_cast<const unsigned char*>(state.data());
      call.state_in_size = state.size();
      call.context = &result;
      call.state_out = &StateOut;
      call.failure = &Failure;
      response.code = entry(&call);
      if (result.failure == REXEC_FAILURE_BAD_STATE) response.status = Status::kBadState;
      if (result.failure == REXEC_FAILURE_EXCEPTION) response.status = Status::kException;
    }
    // The job's output must be in the pipes before its answer is (OutputPump::Finish).
    FlushChildOutput();
    if (leftovers.JobLeftSomethingRunning()) response.flags |= command_protocol::kRetireExecutor;
    if (MayHoldOutput(STDOUT_FILENO) || MayHoldOutput(STDERR_FILENO)) {
      response.flags |= command_protocol::kOutputLeft;
    }
    response.state_bytes = result.state.size();
    response.type_bytes = result.type.size();
    response.message_bytes = result.message.size();
    reply.assign(reinterpret_cast<const char*>(&response), sizeof response);
    reply += result.state;
    reply += result.type;
    reply += result.message;
    if (!WriteFully(kJobChannelOut, reply.data(), reply.size())) ExitChild(0);
  }
}

}  // namespace rexec
