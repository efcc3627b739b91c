// A command whose main() tries the same escapes as the programs beside it, from inside a warm
// command executor, and keeps what happened to each in its state.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <rexec/command.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

struct Escape {
  std::string secret_path;  // a file of the worker's cache to read
  std::string read_shadow;
  std::string read_secret;
  std::string write_usr;
  std::string inet_socket;
  std::string ptrace_init;
  std::string mount_tmp;
  int pid = 0;
  int uid = 0;

  static std::string Outcome(int result) { return result >= 0 ? "ALLOWED" : strerror(errno); }

  int main() {
    read_shadow = Outcome(open("/etc/shadow", O_RDONLY));
    read_secret = Outcome(open(secret_path.c_str(), O_RDONLY));
    write_usr = Outcome(open("/usr/rexec-escape", O_WRONLY | O_CREAT, 0644));
    inet_socket = Outcome(socket(AF_INET, SOCK_STREAM, 0));
    ptrace_init = Outcome(static_cast<int>(ptrace(PTRACE_ATTACH, 1, 0, 0)));
    mount_tmp = Outcome(mount("none", "/tmp", "tmpfs", 0, nullptr));
    pid = getpid();
    uid = static_cast<int>(getuid());
    return 0;
  }
  REXEC_FIELDS(secret_path, read_shadow, read_secret, write_usr, inet_socket, ptrace_init,
               mount_tmp, pid, uid)
};

REXEC_COMMAND(Escape)
