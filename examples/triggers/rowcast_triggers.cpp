// rowcast-triggers: placeholder until the generator lands (next commit).
#include <cstdio>
int main() {
    std::fputs("rowcast-triggers: not implemented yet\n", stderr);
    return 2;
}
