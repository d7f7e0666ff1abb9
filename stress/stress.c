/* framekit stress: placeholder until the workload lands (issue #5). */
#include <stdio.h>
#include <framekit/framekit.h>
int main(void)
{
	printf("seed=0\nSUMMARY placeholder\n");
	return 0;
}
