// n-body: floating-point arithmetic in tight loops (the classic benchmark-game kernel).
#include <chrono>
#include <cmath>
#include <cstdio>

struct Body { double x, y, z, vx, vy, vz, mass; };

int main() {
  constexpr double kPi = 3.141592653589793, kSolarMass = 4 * kPi * kPi, kDays = 365.24;
  Body bodies[5] = {
      {0, 0, 0, 0, 0, 0, kSolarMass},
      {4.84, -1.16, -0.10, 1.66e-3 * kDays, 7.70e-3 * kDays, -6.90e-5 * kDays, 9.54e-4 * kSolarMass},
      {8.34, 4.12, -0.40, -2.77e-3 * kDays, 5.00e-3 * kDays, 2.30e-5 * kDays, 2.86e-4 * kSolarMass},
      {12.89, -15.11, -0.22, 2.96e-3 * kDays, 2.37e-3 * kDays, -2.96e-5 * kDays, 4.36e-5 * kSolarMass},
      {15.37, -25.91, 0.17, 2.68e-3 * kDays, 1.62e-3 * kDays, -9.51e-5 * kDays, 5.15e-5 * kSolarMass}};
  auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < 5'000'000; ++step) {
    for (int i = 0; i < 5; ++i) {
      for (int j = i + 1; j < 5; ++j) {
        double dx = bodies[i].x - bodies[j].x, dy = bodies[i].y - bodies[j].y,
               dz = bodies[i].z - bodies[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double magnitude = 0.01 / (d2 * std::sqrt(d2));
        bodies[i].vx -= dx * bodies[j].mass * magnitude;
        bodies[i].vy -= dy * bodies[j].mass * magnitude;
        bodies[i].vz -= dz * bodies[j].mass * magnitude;
        bodies[j].vx += dx * bodies[i].mass * magnitude;
        bodies[j].vy += dy * bodies[i].mass * magnitude;
        bodies[j].vz += dz * bodies[i].mass * magnitude;
      }
    }
    for (Body& b : bodies) {
      b.x += 0.01 * b.vx;
      b.y += 0.01 * b.vy;
      b.z += 0.01 * b.vz;
    }
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("checksum: %.9f\nkernel_ns: %lld\n", bodies[0].x + bodies[1].y, static_cast<long long>(ns));
}
