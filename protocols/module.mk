# protocols/: IEEE 2030.5 (sep2/) and OpenADR handlers.  They use server/
# and never include dispatch/ or settlement/.
LIB_SRCS += $(wildcard protocols/*/*.c)
