//! CHANNEL-NUMBER as coturn's clients send it.
//!
//! RFC 8656 narrowed channel numbers to 0x4000-0x4FFF, and `stun_codec`'s own
//! attribute refuses anything above while *decoding*, which would turn a whole
//! ChannelBind from `turnutils_uclient` (which picks from RFC 5766's
//! 0x4000-0x7FFF) into an unanswerable broken message. This attribute decodes
//! the full RFC 5766 range; `channel.rs` decides what it accepts.

use bytecodec::fixnum::{U32beDecoder, U32beEncoder};
use bytecodec::{ByteCount, Decode, Encode, Eos, Result, SizedEncode, TryTaggedDecode};
use stun_codec::{Attribute, AttributeType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelNumber(pub u16);

impl ChannelNumber {
    pub const CODEPOINT: u16 = 0x000C;

    pub fn value(self) -> u16 {
        self.0
    }
}

impl Attribute for ChannelNumber {
    type Decoder = ChannelNumberDecoder;
    type Encoder = ChannelNumberEncoder;

    fn get_type(&self) -> AttributeType {
        AttributeType::new(Self::CODEPOINT)
    }
}

#[derive(Debug, Default)]
pub struct ChannelNumberDecoder(U32beDecoder);

impl Decode for ChannelNumberDecoder {
    type Item = ChannelNumber;

    fn decode(&mut self, buf: &[u8], eos: Eos) -> Result<usize> {
        self.0.decode(buf, eos)
    }

    fn finish_decoding(&mut self) -> Result<ChannelNumber> {
        // Number in the top 16 bits, RFFU in the bottom 16 (ignored on receipt).
        Ok(ChannelNumber((self.0.finish_decoding()? >> 16) as u16))
    }

    fn requiring_bytes(&self) -> ByteCount {
        self.0.requiring_bytes()
    }

    fn is_idle(&self) -> bool {
        self.0.is_idle()
    }
}

impl TryTaggedDecode for ChannelNumberDecoder {
    type Tag = AttributeType;

    fn try_start_decoding(&mut self, attr_type: AttributeType) -> Result<bool> {
        Ok(attr_type.as_u16() == ChannelNumber::CODEPOINT)
    }
}

#[derive(Debug, Default)]
pub struct ChannelNumberEncoder(U32beEncoder);

impl Encode for ChannelNumberEncoder {
    type Item = ChannelNumber;

    fn encode(&mut self, buf: &mut [u8], eos: Eos) -> Result<usize> {
        self.0.encode(buf, eos)
    }

    fn start_encoding(&mut self, item: ChannelNumber) -> Result<()> {
        self.0.start_encoding(u32::from(item.0) << 16)
    }

    fn requiring_bytes(&self) -> ByteCount {
        self.0.requiring_bytes()
    }

    fn is_idle(&self) -> bool {
        self.0.is_idle()
    }
}

impl SizedEncode for ChannelNumberEncoder {
    fn exact_requiring_bytes(&self) -> u64 {
        self.0.exact_requiring_bytes()
    }
}
