# server/: the runtime.  Every .c here goes into libdermsd.a except the two
# programs' main files.
SERVER_MAINS := server/main.c server/dermsctl.c
LIB_SRCS      += $(filter-out $(SERVER_MAINS),$(wildcard server/*.c))
DERMSD_SRCS   += server/main.c
DERMSCTL_SRCS += server/dermsctl.c
