// A job given files looks for the host directory they came through: a directory descriptor of
// its own, or one of its init's (pid 1, which holds it while the job runs) through /proc. Prints
// each one it reaches, and the input it was given.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  int leaks = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat info;
    if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
      printf("LEAK: descriptor %d is a directory\n", fd);
      ++leaks;
    }
  }
  DIR* listing = opendir("/proc/1/fd");
  if (listing == NULL) {
    printf("/proc/1/fd: %s\n", strerror(errno));
  } else {
    for (struct dirent* entry; (entry = readdir(listing)) != NULL;) {
      if (entry->d_name[0] == '.') continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/1/fd/%s", entry->d_name);
      int fd = open(path, O_RDONLY | O_DIRECTORY);
      if (fd >= 0) {
        printf("LEAK: %s opens\n", path);
        ++leaks;
        close(fd);
      }
    }
    closedir(listing);
  }
  const char* init_paths[] = {"/proc/1/cwd", "/proc/1/root"};
  for (int i = 0; i < 2; ++i) {
    int fd = open(init_paths[i], O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      printf("LEAK: %s opens\n", init_paths[i]);
      ++leaks;
      close(fd);
    }
  }
  char input[64] = "";
  FILE* file = fopen("input.txt", "r");
  if (file != NULL) {
    if (fgets(input, sizeof input, file) == NULL) input[0] = '\0';
    fclose(file);
  }
  printf("input: %s\n%d leaks\n", input, leaks);
  return 0;
}
