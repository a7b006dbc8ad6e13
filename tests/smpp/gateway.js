// A fake operator USSD gateway for daftar's SMPP tests: the npm `smpp` package's server
// (createServer, smpp@0.5.1; DIALECTS.md §9b) plays the SMSC side, and a test drives it.
//
// Usage: node gateway.js [--system-id ID] [--password PW]
// It listens on 127.0.0.1 on a free port and prints JSON lines on stdout, one per event:
//   {"event":"listening","port":N}
//   {"event":"bound","conn":C,"system_id":"…"}     a bind_transceiver it accepted
//   {"event":"bind_refused","conn":C}               wrong system_id or password
//   {"event":"submit_sm","conn":C,…}                every submit_sm daftar sent, its fields
//   {"event":"deliver_sm_resp","conn":C,"tag":T,"status":S}
//   {"event":"enquire_link","conn":C} / {"event":"unbind","conn":C} / {"event":"closed","conn":C}
// and reads JSON lines on stdin, one command each:
//   {"cmd":"deliver","tag":T,"msisdn":"…","dest":"…","message":"…" | "hex":"…",
//    "payload_hex":"…","op":1,"its":[42,0],"umr":5,"data_coding":0}
//                                  sends a deliver_sm on the newest bound connection, or with
//                                  "conn":C on that bound connection (several daftar nodes)
//   {"cmd":"drop"}                 destroys every connection (a gateway that falls over)
//   {"cmd":"unbind"}               sends an unbind on every bound connection
'use strict';

const smpp = require('smpp');
const readline = require('readline');

const args = process.argv.slice(2);
const option = (name) => {
	const at = args.indexOf(name);
	return at >= 0 ? args[at + 1] : undefined;
};
const expectedSystemId = option('--system-id');
const expectedPassword = option('--password');

const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');

let nextConn = 1;
const bound = [];
const sessions = new Set();

const server = smpp.createServer({}, (session) => {
	const conn = nextConn++;
	sessions.add(session);
	session.on('error', (error) => say({event: 'error', conn, message: String(error && error.message)}));
	session.on('close', () => {
		sessions.delete(session);
		const at = bound.indexOf(session);
		if (at >= 0) bound.splice(at, 1);
		say({event: 'closed', conn});
	});
	session.on('bind_transceiver', (pdu) => {
		const idOk = expectedSystemId === undefined || pdu.system_id === expectedSystemId;
		const pwOk = expectedPassword === undefined || pdu.password === expectedPassword;
		if (!idOk || !pwOk) {
			session.send(pdu.response({command_status: smpp.ESME_RBINDFAIL}));
			say({event: 'bind_refused', conn});
			return;
		}
		session.send(pdu.response());
		session.conn = conn;
		bound.push(session);
		say({event: 'bound', conn, system_id: pdu.system_id, system_type: pdu.system_type});
	});
	session.on('enquire_link', (pdu) => {
		session.send(pdu.response());
		say({event: 'enquire_link', conn});
	});
	session.on('unbind', (pdu) => {
		session.send(pdu.response());
		say({event: 'unbind', conn});
		session.close();
	});
	session.on('submit_sm', (pdu) => {
		session.send(pdu.response({message_id: String(Date.now())}));
		say(submitted(conn, pdu));
	});
});

// What daftar sent, as the test reads it.
function submitted(conn, pdu) {
	const text = pdu.short_message && typeof pdu.short_message === 'object' && !Buffer.isBuffer(pdu.short_message)
		? pdu.short_message.message
		: pdu.short_message;
	const its = pdu.its_session_info;
	return {
		event: 'submit_sm',
		conn,
		service_type: pdu.service_type,
		source_addr: pdu.source_addr,
		destination_addr: pdu.destination_addr,
		data_coding: pdu.data_coding,
		message: typeof text === 'string' ? text : (Buffer.isBuffer(text) ? text.toString('hex') : null),
		payload_hex: Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload.toString('hex') : undefined,
		ussd_service_op: pdu.ussd_service_op,
		its_session_info: Buffer.isBuffer(its) ? [its[0], its[1]] : null,
		user_message_reference: pdu.user_message_reference,
	};
}

// The deliver_sm a command asks for.
function deliver(command) {
	const session = command.conn === undefined
		? bound[bound.length - 1]
		: bound.find((s) => s.conn === command.conn);
	if (!session) {
		say({event: 'no_bind', tag: command.tag});
		return;
	}
	const params = {
		service_type: 'USSD',
		source_addr: command.msisdn,
		destination_addr: command.dest || '1420',
		data_coding: command.data_coding === undefined ? 0 : command.data_coding,
		short_message: command.hex !== undefined ? Buffer.from(command.hex, 'hex') : (command.message || ''),
	};
	if (command.op !== undefined) params.ussd_service_op = command.op;
	if (command.its !== undefined) params.its_session_info = Buffer.from(command.its);
	if (command.umr !== undefined) params.user_message_reference = command.umr;
	if (command.payload_hex !== undefined) params.message_payload = Buffer.from(command.payload_hex, 'hex');
	session.deliver_sm(params, (pdu) => {
		say({event: 'deliver_sm_resp', conn: session.conn, tag: command.tag, status: pdu.command_status});
	});
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
	let command;
	try {
		command = JSON.parse(line);
	} catch (error) {
		say({event: 'bad_command', line});
		return;
	}
	switch (command.cmd) {
	case 'deliver':
		deliver(command);
		break;
	case 'drop':
		for (const session of sessions) session.socket.destroy();
		say({event: 'dropped'});
		break;
	case 'unbind':
		for (const session of bound) session.unbind();
		break;
	default:
		say({event: 'bad_command', line});
	}
}).on('close', () => process.exit(0));

server.listen(0, '127.0.0.1', () => say({event: 'listening', port: server.address().port}));
