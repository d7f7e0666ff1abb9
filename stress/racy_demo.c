/* placeholder (issue #5) */
int main(void) { return 66; }
