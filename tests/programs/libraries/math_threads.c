// Needs -lm and -lpthread natively: they must keep working, shipping nothing.
#include <math.h>
#include <pthread.h>
#include <stdio.h>

static void* square_root(void* argument) {
  double* value = argument;
  *value = sqrt(*value);
  return NULL;
}

int main(void) {
  double value = 2.0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, square_root, &value) != 0) return 1;
  pthread_join(thread, NULL);
  printf("sqrt %.6f cbrt %.6f\n", value, cbrt(27.0));
  return 0;
}
