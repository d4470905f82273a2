#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>
