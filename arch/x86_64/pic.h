#ifndef ARCH_X86_64_PIC_H
#define ARCH_X86_64_PIC_H
void pic_disable(void);
#endif
